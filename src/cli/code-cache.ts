/**
 * The shipped command line (dist/bin/chunks/program.cjs, ~0.8 MB) loaded through a V8 code
 * cache made at build time (scripts/bundle.mjs). Compiling that much JavaScript is most of
 * what a command's start costs, on node 20 too, which has no compile cache of its own
 * (`module.enableCompileCache` is node 22+): vm.Script takes the cache as `cachedData`.
 *
 * The cache lies beside the code it was made from, written by the same build (never at run
 * time, so nothing a user can write is ever run as code). V8 refuses a cache from another
 * node version or other V8 flags and then compiles as usual; it does not compare the
 * source itself, so the file starts with the SHA-256 of the source it belongs to, and a
 * cache for other source is never handed to V8.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

/** What happened to the cache: used, refused by V8 (another node), missing or for other source. */
export type CacheUse = 'accepted' | 'rejected' | 'absent' | 'stale';

const HASH_BYTES = 32;
const sha256 = (s: string) => createHash('sha256').update(s).digest();
/**
 * The CommonJS module wrapper, as node's own loader applies it, and `__flowImport`: node 20
 * runs an `import()` inside a vm.Script only behind an experimental flag, so the build turns
 * the bundle's one `import()` (`flow check`'s chunk, an ES module) into a call of this.
 */
const wrap = (source: string) => `(function (exports, require, module, __filename, __dirname, __flowImport) {${source}\n})`;

function script(file: string, source: string, cachedData?: Buffer): Script {
  return new Script(wrap(source), { filename: file, cachedData });
}

function run<T>(s: Script, file: string): T {
  const module = { exports: {} as T };
  const importChunk = (specifier: string) => import(new URL(specifier, pathToFileURL(file)).href);
  (s.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file), importChunk);
  return module.exports;
}

/** Loads the CommonJS bundle `file`, compiled from `file.cache` when that cache is for this source and this node. */
export function loadWithCache<T>(file: string): { exports: T; cache: CacheUse } {
  const { script: s, cache } = compileWithCache(file);
  return { exports: run<T>(s, file), cache };
}

/**
 * The bundle `file` read and compiled (from its cache when the cache is for this source and
 * this node), none of its code run: what every full-CLI command pays before its first
 * statement (scripts/bench's start-up floor measures it alone).
 */
export function compileWithCache(file: string): { script: Script; cache: CacheUse } {
  const source = readFileSync(file, 'utf8');
  let data: Buffer | undefined;
  try {
    data = readFileSync(`${file}.cache`);
  } catch {
    data = undefined;
  }
  const fresh = data !== undefined && data.length > HASH_BYTES && data.subarray(0, HASH_BYTES).equals(sha256(source));
  const s = script(file, source, fresh ? data!.subarray(HASH_BYTES) : undefined);
  const cache: CacheUse = data === undefined ? 'absent' : !fresh ? 'stale' : s.cachedDataRejected ? 'rejected' : 'accepted';
  return { script: s, cache };
}

/**
 * The cache for `file` (build time): its module code run once, and its `warm()` export
 * awaited when it has one (program.ts: initialise every command's modules, run none), so
 * that the functions those run are compiled into the cache too; behind the source's hash.
 */
export async function makeCache(file: string): Promise<Buffer> {
  const source = readFileSync(file, 'utf8');
  const s = script(file, source);
  const exports = run<{ warm?: () => Promise<unknown> }>(s, file);
  await exports.warm?.();
  return Buffer.concat([sha256(source), s.createCachedData()]);
}

/**
 * node 22+: its compile cache for the ES modules flow loads (the fast paths, `flow check`),
 * in a directory only this user can write (root: /var/cache/flow), or not at all. node 20
 * has none: nothing happens.
 */
export function enableCompileCache(
  mod: { enableCompileCache?: (dir: string) => unknown },
  dir: string | undefined,
  fs: { mkdirSync(p: string, o: { recursive: true; mode: number }): unknown; lstatSync(p: string): { isDirectory(): boolean; uid: number; mode: number } },
  uid: number,
): boolean {
  if (typeof mod.enableCompileCache !== 'function' || dir === undefined) return false;
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = fs.lstatSync(dir);
    // another user's (or a group- or world-writable) directory could hold code planted for us
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) return false;
    mod.enableCompileCache(dir);
    return true;
  } catch {
    return false;
  }
}
