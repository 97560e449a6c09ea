/** Checks on files and mount points, before a run is recorded. */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { hasCode, type Fs, type FsStat } from '../fs/types.js';
import type { FsProbe, Kernel } from '../kernel/types.js';

/** lstat, null when missing; `label` ("--file /x/y") names the path in errors. */
export async function statOrNull(fs: Fs, p: string, label = p): Promise<FsStat | null> {
  try {
    return await fs.lstat(p);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return null;
    if (hasCode(err, 'ENOTDIR')) throw new UsageError(`${label}: a component of the path is not a directory`, 'check the path');
    if (hasCode(err, 'EACCES')) throw new UsageError(`${label}: permission denied`, 'check the permissions of its directories');
    if (hasCode(err, 'ENAMETOOLONG')) throw new UsageError(`${label}: a name in the path is too long`, 'use a shorter path');
    throw err;
  }
}

/** An existing regular file (a symlink is resolved once, explicitly); returns its real path and stat. */
export async function existingFile(fs: Fs, option: string, p: string): Promise<{ path: string; st: FsStat }> {
  const st = await statOrNull(fs, p, `${option} ${p}`);
  if (!st) throw new UsageError(`${option} ${p} does not exist`, 'check the path (a relative path starts at the current directory)');
  if (st.kind === 'symlink') {
    const real = await fs.realpath(p).catch(() => {
      throw new UsageError(`${option} ${p} is a dangling symbolic link`, 'make the link point to an existing file, or give the file itself');
    });
    return existingFile(fs, option, real);
  }
  if (st.kind === 'dir') throw new UsageError(`${option} ${p} is a directory, not a file`, 'give the path of a file, not of the directory holding it');
  if (st.kind !== 'file') throw new UsageError(`${option} ${p} is not a regular file`, 'give a regular file (not a device, FIFO or socket)');
  try {
    const fh = await fs.open(p, { mode: 'read', noFollow: true });
    await fh.close();
  } catch (err) {
    throw new UsageError(`${option} ${p} cannot be read: ${(err as Error).message}`, 'check its permissions (flow needs to read it)');
  }
  return { path: p, st };
}

export interface Mountpoint {
  mountpoint: string;
  /** directories the run creates (and its rollback removes), top-down */
  mountDirs: string[];
}

const MOUNTPOINT_HINT = 'use an empty directory or a path that does not exist yet';

/**
 * The mount point: an existing empty directory that is not a mount point, or a path whose
 * missing directories the run creates. Resolved through the real path of its existing
 * part, so it matches what mountinfo will show.
 */
export async function checkMountpoint(k: Kernel, option: string, p: string): Promise<Mountpoint> {
  const missing: string[] = [];
  let cur = p;
  let st = await statOrNull(k.fs, cur, `${option} ${p}`);
  while (!st) {
    missing.unshift(path.basename(cur));
    const parent = path.dirname(cur);
    if (parent === cur) break;
    cur = parent;
    st = await statOrNull(k.fs, cur, `${option} ${p}`);
  }
  if (missing.length === 0) {
    if (st!.kind === 'symlink') throw new UsageError(`${option} ${p} is a symbolic link`, 'give the real directory');
    if (st!.kind !== 'dir') throw new UsageError(`${option} ${p} is not a directory`, MOUNTPOINT_HINT);
    if ((await k.fs.readdir(p)).length > 0) throw new UsageError(`${option} ${p} is not empty`, MOUNTPOINT_HINT);
    const real = await k.fs.realpath(p);
    if ((await k.mounts.list()).some((m) => m.target === real)) throw new UsageError(`${option} ${p} is already a mount point`, `choose another directory (see findmnt ${real})`);
    return { mountpoint: real, mountDirs: [] };
  }
  const real = await k.fs.realpath(cur).catch(() => {
    throw new UsageError(`${option} ${p}: ${cur} is a dangling symbolic link`, MOUNTPOINT_HINT);
  });
  const rst = await k.fs.stat(real);
  if (rst.kind !== 'dir') throw new UsageError(`${option} ${p}: ${cur} is not a directory`, MOUNTPOINT_HINT);
  const dirs: string[] = [];
  let acc = real;
  for (const name of missing) {
    acc = path.join(acc, name);
    dirs.push(acc);
  }
  return { mountpoint: acc, mountDirs: dirs };
}

/**
 * A filesystem that claims more bytes than the space it lives in (`bytes`) is damaged, or
 * its image truncated: the kernel would refuse to mount it ("bad geometry").
 */
export function checkFsFits(where: string, fs: FsProbe | null, bytes: number): void {
  if (fs?.blockSize === undefined || fs.blockCount === undefined) return;
  const claimed = fs.blockSize * fs.blockCount;
  if (claimed > bytes) {
    throw new UsageError(
      `the ${fs.type} filesystem on ${where} claims ${claimed} bytes (${fs.blockCount} blocks of ${fs.blockSize}), more than the ${bytes} bytes it lives in`,
      'the image is truncated or damaged: check it (e2fsck -fn) or use another one',
    );
  }
}

