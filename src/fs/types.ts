/**
 * The filesystem as flow sees it. Two implementations: `real.ts` (node:fs) and
 * `sim.ts` (in memory, keeps unsynced writes apart so a "power cut" can drop them).
 * Every error is a Node-style error with `code` (ENOENT, EEXIST, ENOTEMPTY, ELOOP,
 * ENOSPC, EIO, EISDIR, ENOTDIR, ...), so callers handle both the same way.
 */

/** What `stat`/`lstat` report; `dev` is the filesystem's device as "major:minor". */
export interface FsStat {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  size: number;
  /** inode number */
  ino: number;
  /** device holding the inode, "major:minor" (what losetup calls BACK-MAJ:MIN) */
  dev: string;
  /** permission bits only, e.g. 0o600 */
  mode: number;
  uid: number;
  mtimeMs: number;
  /**
   * Birth (creation) time in nanoseconds since the epoch, as a decimal string (statx's
   * stx_btime); undefined when the filesystem does not report one. With the inode it
   * names a file across reboots, where `dev` may change (disks numbered otherwise).
   */
  birthNs?: string;
}

/** How to open a file. `noFollow` refuses a symlink at the last component (ELOOP). */
export interface OpenOptions {
  /** 'read': existing file read-only; 'write': existing file read-write;
   *  'create-exclusive': new file, fails with EEXIST when the name exists */
  mode: 'read' | 'write' | 'create-exclusive';
  /** permission bits for a created file (default 0o600) */
  perm?: number;
  noFollow?: boolean;
}

export interface FileHandle {
  /** Writes all of `data` at `position` (default: current end for a new file, i.e. 0-based append). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `length` bytes at `position`; fewer at end of file. */
  read(length: number, position: number): Promise<Buffer>;
  truncate(length: number): Promise<void>;
  /** fsync(2): the file's data and metadata are durable when this resolves. */
  sync(): Promise<void>;
  /** fdatasync(2): the file's data (and the size that reads it back) are durable when this resolves. */
  datasync(): Promise<void>;
  stat(): Promise<FsStat>;
  close(): Promise<void>;
}

export interface Fs {
  open(path: string, options: OpenOptions): Promise<FileHandle>;
  /** Whole file; refuses a symlink when noFollow. */
  readFile(path: string, options?: { noFollow?: boolean }): Promise<Buffer>;
  stat(path: string): Promise<FsStat>;
  lstat(path: string): Promise<FsStat>;
  readdir(path: string): Promise<string[]>;
  mkdir(path: string, perm: number): Promise<void>;
  rmdir(path: string): Promise<void>;
  unlink(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  chmod(path: string, perm: number): Promise<void>;
  /** link(2): a second name for the file at `from`; EEXIST when `to` exists (never replaces it). */
  link(from: string, to: string): Promise<void>;
  /** Sets the modification time of `path` itself (lutimes: a symlink is not followed); atime becomes now. */
  setMtime(path: string, mtimeMs: number): Promise<void>;
  /** Opens the directory and fsyncs it, making entries created/renamed/removed in it durable. */
  syncDir(path: string): Promise<void>;
  /** Resolves symlinks in every component (realpath(3)). */
  realpath(path: string): Promise<string>;
  /** statfs(2): the total size in bytes of the filesystem holding `path` (optional: the simulated fs has none). */
  fsSize?(path: string): Promise<number>;
}

/** True when `err` is a Node-style error with this code. */
export function hasCode(err: unknown, ...codes: string[]): boolean {
  return typeof err === 'object' && err !== null && codes.includes((err as { code?: string }).code ?? '');
}
