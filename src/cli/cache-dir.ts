/**
 * Where node 22+ may keep its compile cache for flow (code-cache.ts, enableCompileCache):
 * a directory of this user's own, never a shared one such as /tmp (code read from a cache
 * another user could write would run as this user, usually root). undefined: no cache.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv, uid: number): string | undefined {
  if (uid === 0) return '/var/cache/flow/node-compile-cache';
  const base = env.XDG_CACHE_HOME?.startsWith('/') ? env.XDG_CACHE_HOME : env.HOME?.startsWith('/') ? `${env.HOME}/.cache` : undefined;
  return base === undefined ? undefined : `${base}/flow/node-compile-cache`;
}
