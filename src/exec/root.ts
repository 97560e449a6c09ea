/**
 * What `flow exec` reads of a mounted root before anything changes: the directories the
 * binds go onto (real directories of the image, never links: mount(2) would follow a link
 * on the host, out of the image), whether /etc/resolv.conf can take the host's, and the
 * machine of the image's programs (the ELF header of the command, else /bin/sh, else
 * /usr/bin/env, each resolved as inside the chroot).
 */
import { lstat, open, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import { ExecRefusedError } from '../errors.js';
import { ELF_HEADER_BYTES, elfInfo, type ElfInfo } from './elf.js';
import { resolveInRoot, type Entry, type Look } from './resolve-in-root.js';

/** lstat + readlink on the host, never following the last component. */
export const hostLook: Look = async (p) => {
  let st;
  try {
    st = await lstat(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    throw err;
  }
  if (st.isSymbolicLink()) return { kind: 'symlink', target: await readlink(p) };
  return { kind: st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other' };
};

export interface RootFacts {
  /** the host's /etc/resolv.conf is bound onto the image's (a regular file) */
  resolvConf: boolean;
  /** why not, when not */
  resolvNote?: string;
  /** the program whose header told the architecture, and what it said */
  probe?: { path: string; head: Uint8Array; elf: ElfInfo };
}

const describe = (e: Entry) => (e.kind === 'symlink' ? `a symbolic link (to ${e.target})` : e.kind === 'missing' ? 'missing' : e.kind === 'file' ? 'a file' : e.kind === 'dir' ? 'a directory' : 'a special file');

/** The bind targets, checked; the resolver decision; the architecture probe. Throws ExecRefusedError. */
export async function inspectRoot(root: string, argv0: string, look: Look = hostLook, hostResolv = '/etc/resolv.conf'): Promise<RootFacts> {
  for (const d of ['dev', 'proc', 'sys']) {
    const e = await look(path.join(root, d));
    if (e.kind !== 'dir') {
      throw new ExecRefusedError(`${path.join(root, d)} is ${describe(e)}: flow exec binds the host's /${d} onto the image's /${d} directory`, e.kind === 'symlink' ? 'a mount onto a link would follow it on the host, out of the image; flow does not' : 'is this the root of a Linux system? (a root filesystem has /dev, /proc and /sys directories)');
    }
  }
  const etc = await look(path.join(root, 'etc'));
  const rc = etc.kind === 'dir' ? await look(path.join(root, 'etc', 'resolv.conf')) : undefined;
  const host = await stat(hostResolv).catch(() => null);
  const facts: RootFacts = { resolvConf: rc?.kind === 'file' && !!host?.isFile() };
  if (!host?.isFile()) facts.resolvNote = `this host has no ${hostResolv} (a regular file, or a link to one): nothing to bind onto the image's`;
  // only a regular file takes the bind: a link (systemd-resolved's ../run/systemd/resolve/stub-resolv.conf)
  // would be followed by mount(2) on the host, out of the image; a missing file would need one made in it
  else if (!facts.resolvConf) facts.resolvNote = `the image's /etc/resolv.conf is ${etc.kind !== 'dir' ? `not there (/etc is ${describe(etc)})` : describe(rc!)}: the host's resolver configuration is not bound there (only onto a regular file); the command uses the image's own`;
  const candidates = [...(argv0.startsWith('/') ? [argv0] : []), '/bin/sh', '/usr/bin/env'];
  for (const c of candidates) {
    const r = await resolveInRoot(root, c, look);
    if ('error' in r || r.entry.kind !== 'file') continue;
    const head = await readHead(r.hostPath);
    const elf = head && elfInfo(head);
    if (elf) {
      facts.probe = { path: c, head: head!, elf };
      break;
    }
  }
  return facts;
}

async function readHead(p: string): Promise<Uint8Array | undefined> {
  const fh = await open(p, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const buf = Buffer.alloc(Math.max(ELF_HEADER_BYTES, 128));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
