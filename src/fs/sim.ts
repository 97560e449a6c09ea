/**
 * `SimFs`: an in-memory POSIX-ish filesystem that models what a power cut does on Linux
 * (see design/crash-model.md, "Durable writes"):
 * - a file's data (and mode) is durable only after `sync()` of a handle on it;
 * - a directory entry (create, rename, unlink, mkdir, rmdir, symlink) is durable only
 *   after `syncDir(parent)`; a file's `sync()` does not make its name durable;
 * - `powerCut()` reverts every directory to its last durable entries and every file to
 *   its last durable data (never synced → empty), and invalidates open handles.
 * Each directory reverts on its own: a cross-directory rename with only the target
 * directory synced leaves the file under both names (stricter than ext4's journal).
 */
import type { FileHandle, Fs, FsStat, OpenOptions } from './types.js';
import { SparseData } from './sim-data.js';
import { SimHandle } from './sim-handle.js';
import { FaultTable, fsError, type SimFault } from './sim-faults.js';
import { Tree, statOf, type FileNode, type SimNode, type TreeEntry } from './sim-tree.js';

export type { SimFault, SimFsOp } from './sim-faults.js';
export type { TreeEntry } from './sim-tree.js';

/** Options of `putFile` / `putDir` / `symlink`. */
export interface PutOptions {
  /** make the entry (and its parents' entries) and the data survive `powerCut()` (default true) */
  durable?: boolean;
  /** permission bits (default 0o600 for files, 0o755 for directories) */
  mode?: number;
}

/** In-memory filesystem with power-cut semantics, fault injection and test helpers. */
export class SimFs implements Fs {
  /** bumped by `powerCut()`; handles of an older epoch are invalid */
  epoch = 0;
  faults = new FaultTable();

  constructor(
    /** the "major:minor" every inode reports; a power cut renumbers it (`powerCut`) */
    public dev = '8:1',
    /** @internal */
    public tree = new Tree(),
  ) {}

  async open(path: string, options: OpenOptions): Promise<FileHandle> {
    this.faults.check('open', 'open', path);
    if (options.mode === 'create-exclusive') {
      const w = this.tree.walk(path, false, 'open');
      if (w.node || w.name === '') throw fsError('EEXIST', 'open', path);
      const node = this.tree.newFile((options.perm ?? 0o600) & 0o7777);
      this.tree.link(w.parent, w.name, node);
      return new SimHandle(this, node, path, true, this.epoch);
    }
    const node = this.regular(path, !options.noFollow, 'open');
    return new SimHandle(this, node, path, options.mode === 'write', this.epoch);
  }

  async readFile(path: string, options?: { noFollow?: boolean }): Promise<Buffer> {
    this.faults.check('readFile', 'open', path);
    const node = this.regular(path, !options?.noFollow, 'open');
    return node.data.read(node.data.size, 0);
  }

  async stat(path: string): Promise<FsStat> {
    this.faults.check('stat', 'stat', path);
    return statOf(this.existing(path, true, 'stat'), this.dev);
  }

  async lstat(path: string): Promise<FsStat> {
    this.faults.check('lstat', 'lstat', path);
    return statOf(this.existing(path, false, 'lstat'), this.dev);
  }

  async readdir(path: string): Promise<string[]> {
    this.faults.check('readdir', 'scandir', path);
    const node = this.existing(path, true, 'scandir');
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'scandir', path);
    return [...node.entries.keys()].sort();
  }

  async mkdir(path: string, perm: number): Promise<void> {
    this.faults.check('mkdir', 'mkdir', path);
    const w = this.tree.walk(path, false, 'mkdir');
    if (w.node) throw fsError('EEXIST', 'mkdir', path);
    this.tree.link(w.parent, w.name, this.tree.newDir(perm & 0o7777));
  }

  async rmdir(path: string): Promise<void> {
    this.faults.check('rmdir', 'rmdir', path);
    const w = this.tree.walk(path, false, 'rmdir');
    if (!w.node) throw fsError('ENOENT', 'rmdir', path);
    if (w.node.kind !== 'dir') throw fsError('ENOTDIR', 'rmdir', path);
    if (w.node === this.tree.root) throw fsError('EBUSY', 'rmdir', path);
    if (w.node.entries.size > 0) throw fsError('ENOTEMPTY', 'rmdir', path);
    this.tree.unlink(w.parent, w.name);
  }

  async unlink(path: string): Promise<void> {
    this.faults.check('unlink', 'unlink', path);
    const w = this.tree.walk(path, false, 'unlink');
    if (!w.node) throw fsError('ENOENT', 'unlink', path);
    if (w.node.kind === 'dir') throw fsError('EISDIR', 'unlink', path);
    this.tree.unlink(w.parent, w.name);
  }

  async rename(from: string, to: string): Promise<void> {
    this.faults.check('rename', 'rename', from, to);
    const f = this.tree.walk(from, false, 'rename');
    if (!f.node || f.name === '') throw fsError(f.node ? 'EBUSY' : 'ENOENT', 'rename', from);
    const t = this.tree.walk(to, false, 'rename');
    if (t.node === f.node) return;
    if (t.name === '') throw fsError('EBUSY', 'rename', to);
    if (f.node.kind === 'dir') {
      if (t.node && t.node.kind !== 'dir') throw fsError('ENOTDIR', 'rename', to);
      if (t.node?.kind === 'dir' && t.node.entries.size > 0) throw fsError('ENOTEMPTY', 'rename', to);
      if (t.path.startsWith(`${f.path}/`)) throw fsError('EINVAL', 'rename', from);
    } else if (t.node?.kind === 'dir') throw fsError('EISDIR', 'rename', to);
    this.tree.unlink(f.parent, f.name);
    this.tree.link(t.parent, t.name, f.node);
  }

  async chmod(path: string, perm: number): Promise<void> {
    this.faults.check('chmod', 'chmod', path);
    const node = this.existing(path, true, 'chmod');
    node.mode = perm & 0o7777;
  }

  async syncDir(path: string): Promise<void> {
    this.faults.check('syncDir', 'fsync', path);
    const node = this.existing(path, true, 'open');
    if (node.kind !== 'dir') throw fsError('ENOTDIR', 'open', path);
    node.durable = { entries: new Map(node.entries), mode: node.mode, mtimeMs: node.mtimeMs };
  }

  async link(from: string, to: string): Promise<void> {
    this.faults.check('link', 'link', from, to);
    const f = this.tree.walk(from, false, 'link');
    if (!f.node) throw fsError('ENOENT', 'link', from);
    if (f.node.kind === 'dir') throw fsError('EPERM', 'link', from);
    const t = this.tree.walk(to, false, 'link');
    if (t.node || t.name === '') throw fsError('EEXIST', 'link', to);
    this.tree.link(t.parent, t.name, f.node);
  }

  async setMtime(path: string, mtimeMs: number): Promise<void> {
    this.faults.check('setMtime', 'utimensat', path);
    this.existing(path, false, 'utimensat').mtimeMs = mtimeMs;
  }

  async realpath(path: string): Promise<string> {
    this.faults.check('realpath', 'realpath', path);
    const w = this.tree.walk(path, true, 'realpath');
    if (!w.node) throw fsError('ENOENT', 'realpath', path);
    return w.path;
  }

  // ---- test helpers -------------------------------------------------------------

  /**
   * Power cut: every directory and file reverts to its durable state; handles die. The
   * machine boots again with its disks numbered otherwise: `dev` changes (inodes and
   * birth times do not).
   */
  powerCut(): void {
    this.epoch++;
    this.tree.revertToDurable();
    const [major, minor] = this.dev.split(':').map(Number);
    this.dev = `${major}:${(minor! + 16) % 256}`;
  }

  /** A deep copy (without open handles), for branching crash scenarios. */
  clone(): SimFs {
    const copy = new SimFs(this.dev, this.tree.copy());
    copy.faults = this.faults.copy();
    return copy;
  }

  /** Arms a fault; see `SimFault`. */
  injectFault(fault: SimFault): void {
    this.faults.add(fault);
  }

  /** Disarms every fault. */
  clearFaults(): void {
    this.faults.clear();
  }

  /** Every path below the root (current state) → kind, size, mode, content hash. */
  snapshotTree(): Record<string, TreeEntry> {
    return this.tree.snapshot();
  }

  /** What `snapshotTree()` would show after a power cut now (this SimFs is unchanged). */
  durableTree(): Record<string, TreeEntry> {
    const copy = this.clone();
    copy.powerCut();
    return copy.snapshotTree();
  }

  /** Creates or replaces a file (parents created as needed) with `content` or `size` zero bytes. */
  putFile(path: string, content: Uint8Array | { size: number }, options: PutOptions = {}): void {
    const w = this.tree.ensureParents(path, options.durable ?? true);
    let node = w.node;
    if (node && node.kind !== 'file') throw fsError('EISDIR', 'open', path);
    if (!node) node = this.tree.link(w.parent, w.name, this.tree.newFile(options.mode ?? 0o600));
    else if (options.mode !== undefined) node.mode = options.mode;
    node.data = new SparseData();
    if (content instanceof Uint8Array) node.data.write(content, 0);
    else node.data.truncate(content.size);
    if (options.durable ?? true) this.tree.markDurable(path, node);
  }

  /** `mkdir -p` with `mode` on the created directories. */
  putDir(path: string, options: PutOptions = {}): void {
    const w = this.tree.ensureParents(path, options.durable ?? true);
    if (w.node && w.node.kind !== 'dir') throw fsError('EEXIST', 'mkdir', path);
    const node = w.node ?? this.tree.link(w.parent, w.name, this.tree.newDir(options.mode ?? 0o755));
    if (options.durable ?? true) this.tree.markDurable(path, node);
  }

  /** `ln -s target path` (the parent must exist). */
  symlink(target: string, path: string, options: Pick<PutOptions, 'durable'> = {}): void {
    const w = this.tree.walk(path, false, 'symlink');
    if (w.node) throw fsError('EEXIST', 'symlink', path);
    const node = this.tree.link(w.parent, w.name, this.tree.newLink(target));
    if (options.durable ?? true) this.tree.markDurable(path, node);
  }

  // ---- internals ----------------------------------------------------------------

  private existing(path: string, follow: boolean, syscall: string): SimNode {
    const w = this.tree.walk(path, follow, syscall);
    if (!w.node) throw fsError('ENOENT', syscall, path);
    return w.node;
  }

  private regular(path: string, follow: boolean, syscall: string): FileNode {
    const node = this.existing(path, follow, syscall);
    if (node.kind === 'symlink') throw fsError('ELOOP', syscall, path);
    if (node.kind === 'dir') throw fsError('EISDIR', syscall, path);
    return node;
  }
}
