/**
 * The files facility: backing files and mount-point directories, over any `Fs` (real or
 * simulated). Every change is made durable before returning (file fsync + parent
 * directory fsync), and every removal checks ownership first: flow only removes a file
 * whose dev+inode it recorded at creation, and only empty directories.
 *
 * Removals also fsync the parent when the object is already absent: a removal done by
 * an earlier, interrupted attempt may not be durable yet.
 */
import { dirname } from 'node:path';
import { KernelError, type KernelErrorCode } from '../errors.js';
import { hasCode, type Fs, type FsStat } from '../fs/types.js';

/** What identifies a file across renames and reuse of its name: device + inode. */
export interface FileIdentity {
  /** "major:minor" of the filesystem holding the file */
  dev: string;
  ino: number;
}

const PASSTHROUGH: readonly KernelErrorCode[] = ['ENOENT', 'EEXIST', 'ENOSPC', 'EIO', 'EBUSY', 'EINVAL', 'EPERM'];

/** A Node-style fs error as a KernelError with the nearest code. */
function fsFailure(err: unknown, what: string, path: string): KernelError {
  if (err instanceof KernelError) return err;
  const code = (err as { code?: string } | null)?.code ?? '';
  const mapped: KernelErrorCode = (PASSTHROUGH as readonly string[]).includes(code)
    ? (code as KernelErrorCode)
    : code === 'EACCES'
      ? 'EPERM'
      : code === 'ENOTEMPTY'
        ? 'EBUSY'
        : code === 'ELOOP' || code === 'ENOTDIR' || code === 'EISDIR'
          ? 'EINVAL'
          : 'EFAIL';
  const detail = err instanceof Error ? err.message : String(err);
  return new KernelError(mapped, `cannot ${what} ${path}: ${detail}`);
}

async function attempt<T>(what: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsFailure(err, what, path);
  }
}

/** lstat, or null when nothing is at `path`. */
async function lstatOrNull(fs: Fs, path: string): Promise<FsStat | null> {
  try {
    return await fs.lstat(path);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return null;
    throw fsFailure(err, 'stat', path);
  }
}

/** fsyncs the parent directory of `path`; a parent that no longer exists is fine. */
async function syncParent(fs: Fs, path: string): Promise<void> {
  try {
    await fs.syncDir(dirname(path));
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw fsFailure(err, 'fsync the directory of', path);
  }
}

/**
 * Creates a new backing file of `size` bytes (sparse) with mode 0600: O_EXCL and
 * O_NOFOLLOW, truncate, fsync, fsync of the parent directory. EEXIST when the name is
 * taken. On failure after creation the file is removed again, so a failed call has no
 * effect. Returns the identity to record.
 */
export async function createBackingFile(fs: Fs, path: string, size: number): Promise<FileIdentity> {
  if (!Number.isSafeInteger(size) || size < 0) throw new KernelError('EINVAL', `bad size ${size} for ${path}`);
  const handle = await attempt('create', path, () => fs.open(path, { mode: 'create-exclusive', perm: 0o600, noFollow: true }));
  let identity: FileIdentity | undefined;
  try {
    const st = await handle.stat();
    identity = { dev: st.dev, ino: st.ino };
    await handle.truncate(size);
    await handle.sync();
    await handle.close();
    await fs.syncDir(dirname(path));
    return identity;
  } catch (err) {
    await handle.close().catch(() => undefined);
    if (identity) await removeOwnedFile(fs, path, identity).catch(() => undefined);
    throw fsFailure(err, 'create', path);
  }
}

/** Identity and kind of whatever is at `path` (not following a symlink); null when absent. */
export async function fileIdentity(fs: Fs, path: string): Promise<(FileIdentity & { kind: FsStat['kind']; size: number }) | null> {
  const st = await lstatOrNull(fs, path);
  return st && { dev: st.dev, ino: st.ino, kind: st.kind, size: st.size };
}

/**
 * Removes `path` only when it is the regular file with exactly this identity, then
 * fsyncs the parent. 'absent' when nothing is there; EINVAL ("not ours") when something
 * else is.
 */
export async function removeOwnedFile(fs: Fs, path: string, identity: FileIdentity): Promise<'removed' | 'absent'> {
  const st = await lstatOrNull(fs, path);
  if (!st) {
    await syncParent(fs, path);
    return 'absent';
  }
  if (st.kind !== 'file' || st.dev !== identity.dev || st.ino !== identity.ino) {
    throw new KernelError(
      'EINVAL',
      `${path} is not ours: expected a regular file with dev ${identity.dev} inode ${identity.ino}, found a ${st.kind} with dev ${st.dev} inode ${st.ino}; left untouched`,
    );
  }
  try {
    await fs.unlink(path);
  } catch (err) {
    if (!hasCode(err, 'ENOENT')) throw fsFailure(err, 'remove', path);
  }
  await syncParent(fs, path);
  return 'removed';
}

/**
 * Creates each missing directory in order (parents first) with `perm`, fsyncing its
 * parent after each. An existing directory is kept (its parent is fsynced anyway);
 * anything else at the path (file, symlink) is refused with EEXIST. Returns the
 * directories this call created.
 */
export async function makeDirs(fs: Fs, dirs: readonly string[], perm: number): Promise<string[]> {
  const created: string[] = [];
  for (const dir of dirs) {
    const st = await lstatOrNull(fs, dir);
    if (st && st.kind !== 'dir') throw new KernelError('EEXIST', `${dir} exists and is a ${st.kind}, not a directory`);
    if (!st) {
      try {
        await fs.mkdir(dir, perm);
        created.push(dir);
      } catch (err) {
        if (!hasCode(err, 'EEXIST')) throw fsFailure(err, 'create directory', dir);
      }
    }
    await syncParent(fs, dir);
  }
  return created;
}

/**
 * Removes the directories in reverse order, each only if it exists and is empty, and
 * fsyncs its parent. A non-empty directory (or a mount point) is refused with EBUSY;
 * a path that is not a directory is left alone. Returns the directories removed.
 */
export async function removeOwnedDirs(fs: Fs, dirs: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of [...dirs].reverse()) {
    const st = await lstatOrNull(fs, dir);
    if (st && st.kind === 'dir') {
      try {
        await fs.rmdir(dir);
        removed.push(dir);
      } catch (err) {
        if (hasCode(err, 'ENOTEMPTY', 'EEXIST')) {
          throw new KernelError('EBUSY', `directory ${dir} is not empty: flow removes only empty directories it created; move its contents away, then retry`);
        }
        if (hasCode(err, 'EBUSY')) throw new KernelError('EBUSY', `directory ${dir} is in use (a mount point?): unmount it, then retry`);
        if (!hasCode(err, 'ENOENT')) throw fsFailure(err, 'remove directory', dir);
      }
    }
    await syncParent(fs, dir);
  }
  return removed;
}
