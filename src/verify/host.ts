/**
 * The simulated host `flow verify` runs a workflow in: the paths its params name, as this
 * host has them, and objects another program owns. Reading this host is all it does: the
 * directories on each path (and symbolic links), and of an existing file its size, its
 * partition table and the first bytes of the file and of each partition (where flow's probes
 * find a filesystem). It never writes a file, never opens the state directory and never
 * asks this host's kernel anything: the run happens in a SimFs and a FakeKernel.
 */
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
const MIB = 1024 * 1024;
import type { SimWorld } from './world.js';
import { createRealFilesystems } from '../kernel/real/filesystems.js';
import { decodeFakeFiles, encodeFakeFiles, FAKE_FILES_OFFSET } from '../kernel/fake/ext.js';

/** What is read of a file at each place a filesystem may start: enough for every superblock flow probes. */
const HEAD = 64 * 1024;
/** a directory's entries (for "is it empty") are mirrored as empty files, up to this many */
const MAX_ENTRIES = 64;
/** at most this many partitions (DOS: four primary) */
const MAX_PARTITIONS = 4;

/** What `mirrorPath` found on this host. */
export interface Mirrored {
  /** directories named by a path: their entries are mirrored last (mirrorEntries), after every file */
  dirs: string[];
}

async function lstatOrNull(p: string) {
  try {
    return await lstat(p);
  } catch {
    return null;
  }
}

/** Copies into `w` what this host has on `p` (absolute): its directories, links, and the leaf. */
export async function mirrorPath(w: SimWorld, p: string, out: Mirrored, depth = 0): Promise<void> {
  if (depth > 8) return; // a symlink loop: the preflight in the simulated host will say so
  const parts = p.split('/').filter(Boolean);
  let cur = '/';
  for (const [i, name] of parts.entries()) {
    cur = path.join(cur, name);
    const st = await lstatOrNull(cur);
    if (!st) return;
    const known = w.fs.snapshotTree()[cur];
    if (st.isSymbolicLink()) {
      const target = await readlink(cur);
      if (!known) w.fs.symlink(target, cur, { durable: true });
      await mirrorPath(w, path.resolve(path.dirname(cur), target), out, depth + 1);
      // the rest of the path goes on through the link's target
      await mirrorPath(w, path.resolve(path.dirname(cur), target, ...parts.slice(i + 1)), out, depth + 1);
      return;
    }
    const leaf = i === parts.length - 1;
    if (st.isDirectory()) {
      if (!known) w.fs.putDir(cur, { durable: true, mode: st.mode & 0o7777 });
      if (leaf) out.dirs.push(cur);
      continue;
    }
    if (leaf && st.isFile() && !known) {
      await mirrorFile(w, cur, st.size, st.mode & 0o7777);
    }
    return;
  }
}

/** A directory's entry names, as empty files where nothing is mirrored yet (the preflight asks whether a mount point is empty). */
export async function mirrorEntries(w: SimWorld, dir: string): Promise<void> {
  const names = (await readdir(dir).catch(() => [] as string[])).slice(0, MAX_ENTRIES);
  for (const n of names) if (!w.fs.snapshotTree()[path.join(dir, n)]) w.fs.putFile(path.join(dir, n), new Uint8Array(0), { durable: true });
}

/** Files a preflight reads inside an image (pi-image: the root's /etc/fstab, and where the boot partition goes), read here with debugfs (read-only); a directory as "PATH/". */
const EXT_FILES = ['/etc/fstab'];
const EXT_DIRS = ['/boot', '/boot/firmware'];

async function extFiles(p: string, start: number, head: Uint8Array): Promise<Record<string, string> | null> {
  if (head.length < 1024 + 58 || head[1024 + 56] !== 0x53 || head[1024 + 57] !== 0xef) return null;
  // an image made for the fake kernel (test images) carries its table already
  if (Object.keys(decodeFakeFiles(head.subarray(FAKE_FILES_OFFSET))).length > 0) return null;
  const out: Record<string, string> = {};
  for (const f of EXT_FILES) {
    const text = await createRealFilesystems().readExtFile(p, start, f).catch(() => null);
    if (text !== null) out[f] = text;
  }
  for (const d of EXT_DIRS) if ((await createRealFilesystems().readExtFile(p, start, d).catch(() => null)) !== null) out[`${d}/`] = '';
  return Object.keys(out).length > 0 ? out : null;
}

/** A sparse copy of `p`: its size, and its first bytes and those of each DOS partition (and the files of EXT_FILES there). */
async function mirrorFile(w: SimWorld, p: string, size: number, mode: number): Promise<void> {
  w.fs.putFile(p, { size }, { durable: true, mode });
  const src = await open(p, 'r');
  try {
    const chunks: [number, Uint8Array][] = [];
    const read = async (at: number) => {
      const b = Buffer.alloc(Math.max(0, Math.min(HEAD, size - at)));
      const { bytesRead } = await src.read(b, 0, b.length, at);
      if (bytesRead > 0) chunks.push([at, b.subarray(0, bytesRead)]);
      return b.subarray(0, bytesRead);
    };
    const head = await read(0);
    if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa) {
      for (let i = 0; i < MAX_PARTITIONS; i++) {
        const start = head.readUInt32LE(446 + 16 * i + 8) * 512;
        if (head[446 + 16 * i + 4] === 0 || start <= 0 || start >= size) continue;
        const part = await read(start);
        const files = await extFiles(p, start, part);
        // the fake's debugfs reads a table after the superblock (src/kernel/fake/ext.ts)
        if (files) chunks.push([start + FAKE_FILES_OFFSET, encodeFakeFiles(files)]);
      }
    }
    const fh = await w.fs.open(p, { mode: 'write' });
    for (const [at, b] of chunks) await fh.write(b, at);
    await fh.sync();
    await fh.close();
  } finally {
    await src.close();
  }
}

/** Where another program's disk lives in the simulated host (a path no workflow of the user's names). */
export const OTHER_DISK = '/opt/other-program/disk.img';

/**
 * Objects another program owns, made before the run and again at every boot: a loop on its
 * own disk with a dm device on it, a zram device. No run may touch them (I7). (Not a loop
 * on the run's input: a workflow may rightly refuse an input in use; the foreign-device
 * matrix puts one there in the window of each loop.attach step.)
 */
export async function makeOtherPrograms(w: SimWorld): Promise<void> {
  if (!w.fs.snapshotTree()[OTHER_DISK]) w.fs.putFile(OTHER_DISK, { size: 16 * MIB }, { durable: true });
  const loop = await w.kernel.loop.attach({ file: OTHER_DISK, readOnly: true });
  await w.kernel.dm.create({ name: 'other-program', uuid: 'OTHER-PROGRAM-1', table: [`0 8192 linear ${loop.majmin} 0`] });
  const z = await w.kernel.zram.add();
  await w.kernel.zram.configure(z, { disksize: 8 * MIB });
}
