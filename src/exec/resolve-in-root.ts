/**
 * A path inside a chroot, resolved as the chrooted program will see it (pure, over an
 * injected lstat/readlink): an absolute symbolic link starts again at the root, `..`
 * stops at the root. Never the host's own resolution: the image's /bin/sh -> /usr/bin/dash,
 * followed on the host, would read the host's dash, and a mount onto a link would follow
 * it out of the image.
 */
import { posix } from 'node:path';

export type Entry = { kind: 'dir' | 'file' | 'other' } | { kind: 'symlink'; target: string } | { kind: 'missing' };

/** lstat + readlink of one host path (never following its last component). */
export type Look = (hostPath: string) => Promise<Entry>;

/** Linux's limit of links followed in one lookup. */
const MAX_LINKS = 40;

export type Resolved = { hostPath: string; entry: Entry } | { error: string };

/** `p` (absolute, inside the chroot) as a path on the host under `root`, every link followed within the root. */
export async function resolveInRoot(root: string, p: string, look: Look): Promise<Resolved> {
  let todo = p.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  for (;;) {
    const comp = todo.shift();
    const host = posix.join(root, ...done);
    if (comp === undefined) return { hostPath: host, entry: done.length === 0 ? { kind: 'dir' } : await look(host) };
    if (comp === '..') {
      done.pop();
      continue;
    }
    const next = posix.join(host, comp);
    const e = await look(next);
    if (e.kind === 'symlink') {
      if (++links > MAX_LINKS) return { error: `${p}: too many levels of symbolic links` };
      const t = e.target.split('/').filter((c) => c !== '' && c !== '.');
      if (e.target.startsWith('/')) done.length = 0;
      todo = [...t, ...todo];
      continue;
    }
    if (todo.length > 0 && e.kind !== 'dir') return e.kind === 'missing' ? { hostPath: posix.join(next, ...todo), entry: { kind: 'missing' } } : { error: `${posix.join('/', ...done, comp)} is not a directory` };
    done.push(comp);
    if (todo.length === 0) return { hostPath: next, entry: e };
  }
}
