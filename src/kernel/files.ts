/**
 * The files facility: backing files and mount-point directories, over any `Fs` (real or
 * simulated). Every change is made durable before returning (file fsync + parent
 * directory fsync), and every removal checks ownership first: flow only removes a file
 * whose identity it recorded at creation, and only empty directories.
 *
 * Removals also fsync the parent when the object is already absent: a removal done by
 * an earlier, interrupted attempt may not be durable yet.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { KernelError, type KernelErrorCode } from '../errors.js';
import { hasCode, type Fs, type FsStat } from '../fs/types.js';

/**
 * What identifies a file across renames, reuse of its name and reboots: its inode and
 * birth time (statx). `dev` ("major:minor") is the filesystem's device at the time it
 * was recorded: it may change at the next boot (disks numbered otherwise), so it only
 * decides when one side has no birth time (a filesystem without one, or a journal
 * written by an older flow that recorded {dev, ino}).
 */
export interface FileIdentity {
  dev: string;
  ino: number;
  /** birth time in ns since the epoch (decimal), when the filesystem reports one */
  birth?: string;
}

/** The identity to record for what `st` describes. */
export function identityOf(st: FsStat): FileIdentity {
  return st.birthNs ? { dev: st.dev, ino: st.ino, birth: st.birthNs } : { dev: st.dev, ino: st.ino };
}

/**
 * Is `st` the object recorded as `id`? 'other' when it certainly is not; 'unsure' when
 * neither side has a birth time and the device differs (the disk may have been numbered
 * otherwise at boot): flow then touches nothing and asks the operator.
 */
export function sameFile(st: FsStat, id: FileIdentity): 'same' | 'other' | 'unsure' {
  if (st.ino !== id.ino) return 'other';
  if (st.birthNs && id.birth) return st.birthNs === id.birth ? 'same' : 'other';
  return st.dev === id.dev ? 'same' : 'unsure';
}

/** How an identity reads in messages. */
export function describeIdentity(id: FileIdentity): string {
  return `inode ${id.ino}${id.birth ? ` born ${id.birth} ns` : ''} on ${id.dev}`;
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

/** The proof that a file or directory was made by flow itself: see `createBackingFile`. */
export interface CreationProof {
  /** the private name the file is made under first (unique to one attempt: a random nonce) */
  temp: string;
  /** the modification time the attempt stamps on what it makes (a random whole second) */
  mtimeMs: number;
}

/**
 * A fresh proof for one attempt to create `path`: a temp name no one else can know
 * beforehand, and a stamp: a random even whole second of 1980-1999 (exact on every
 * filesystem's timestamps; a file made now never carries it by chance).
 */
export function newCreationProof(path: string): CreationProof {
  return { temp: join(dirname(path), `.${basename(path)}.flow-${randomBytes(8).toString('hex')}`), mtimeMs: stampMs() };
}

/** A random even whole second of 1980-1999, in ms. */
export function stampMs(): number {
  return (315_532_800 + 2 * randomInt(0, 315_000_000)) * 1000;
}

/**
 * Creates a new backing file of `size` bytes (sparse) with mode 0600 so that whatever is
 * at `path` afterwards can be told from a file someone else made there:
 *   1. the file is made under `proof.temp` (O_EXCL, O_NOFOLLOW; a name nobody else knows),
 *      truncated, its mtime stamped with `proof.mtimeMs`, fsynced, its directory fsynced;
 *   2. link(2) gives it its name `path`: never replacing anything (EEXIST: someone else
 *      made `path`; it is left untouched and the temp name removed);
 *   3. the temp name is removed.
 * At any instant, a file that is flow's has the temp name (steps 1-2) or the stamp (from
 * 2 until something writes it, which only happens after its identity is recorded).
 * `onLinked` runs between 2 and 3. On failure, what this call made is removed again.
 * Returns the identity to record.
 */
export async function createBackingFile(fs: Fs, path: string, size: number, proof: CreationProof = newCreationProof(path), onLinked?: () => void): Promise<FileIdentity> {
  if (!Number.isSafeInteger(size) || size < 0) throw new KernelError('EINVAL', `bad size ${size} for ${path}`);
  const dir = dirname(path);
  const handle = await attempt('create', proof.temp, () => fs.open(proof.temp, { mode: 'create-exclusive', perm: 0o600, noFollow: true }));
  let made: FileIdentity | undefined;
  let linked = false;
  try {
    made = identityOf(await handle.stat());
    await handle.truncate(size);
    await fs.setMtime(proof.temp, proof.mtimeMs);
    await handle.sync();
    await handle.close();
    await fs.syncDir(dir);
    try {
      await fs.link(proof.temp, path);
    } catch (err) {
      if (hasCode(err, 'EEXIST')) throw new KernelError('EEXIST', `${path} exists: something else made it after the run was planned; flow leaves it untouched`);
      throw err;
    }
    linked = true;
    await fs.syncDir(dir);
    onLinked?.();
    await fs.unlink(proof.temp);
    await fs.syncDir(dir);
    return made;
  } catch (err) {
    await handle.close().catch(() => undefined);
    if (err instanceof Error && err.name === 'CrashSignal') throw err; // a test's simulated crash: nothing more happens
    if (made) {
      if (linked) await removeOwnedFile(fs, path, made).catch(() => undefined);
      await removeOwnedFile(fs, proof.temp, made).catch(() => undefined);
    }
    throw fsFailure(err, 'create', path);
  }
}

/** Identity and kind of whatever is at `path` (not following a symlink); null when absent. */
export async function fileIdentity(fs: Fs, path: string): Promise<(FileIdentity & { kind: FsStat['kind']; size: number }) | null> {
  const st = await lstatOrNull(fs, path);
  return st && { ...identityOf(st), kind: st.kind, size: st.size };
}

/** lstat, or null when nothing is at `path` (exported for the steps' probes). */
export const statOrNull = lstatOrNull;

/**
 * Removes `path` only when it is the regular file with exactly this identity, then
 * fsyncs the parent. 'absent' when nothing is there; EINVAL ("not ours") when something
 * else is, or when flow cannot tell (see `sameFile`).
 */
export async function removeOwnedFile(fs: Fs, path: string, identity: FileIdentity): Promise<'removed' | 'absent'> {
  const st = await lstatOrNull(fs, path);
  if (!st) {
    await syncParent(fs, path);
    return 'absent';
  }
  const same = st.kind === 'file' ? sameFile(st, identity) : 'other';
  if (same !== 'same') {
    throw new KernelError(
      'EINVAL',
      `${path} is ${same === 'other' ? 'not ours' : 'perhaps not ours (no birth time to tell after a reboot)'}: expected a regular file with ${describeIdentity(identity)}, found a ${st.kind} with ${describeIdentity(identityOf(st))}; left untouched`,
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
