/**
 * SimFs's inode tree: inodes with a volatile state and the last durable state, and path
 * resolution with symlinks (POSIX-ish: `..` after a symlink goes up from its target).
 */
import type { FsStat } from './types.js';
import { SparseData } from './sim-data.js';
import { fsError } from './sim-faults.js';

interface NodeBase {
  ino: number;
  mode: number;
  mtimeMs: number;
  /** birth time (ns, decimal); fixed at creation, like statx's stx_btime */
  birthNs: string;
}
/** A regular file; `durable` is what survives a power cut (its data, mode and mtime after fsync). */
export interface FileNode extends NodeBase {
  kind: 'file';
  data: SparseData;
  durable: { data: SparseData; mode: number; mtimeMs: number };
}
/** A directory; `durable.entries` are the names that survive a power cut. */
export interface DirNode extends NodeBase {
  kind: 'dir';
  entries: Map<string, number>;
  durable: { entries: Map<string, number>; mode: number; mtimeMs: number };
}
/** A symbolic link (its target never changes). */
export interface LinkNode extends NodeBase {
  kind: 'symlink';
  target: string;
}
/** Any inode. */
export type SimNode = FileNode | DirNode | LinkNode;

/** One entry of `SimFs.snapshotTree()`. */
export type TreeEntry =
  | { kind: 'file'; size: number; mode: number; hash: string }
  | { kind: 'dir'; mode: number }
  | { kind: 'symlink'; target: string };

/** Where a path leads: the directory holding the last component, its name, and the node if any. */
export interface Walk {
  parent: DirNode;
  /** canonical path of `parent` */
  parentPath: string;
  name: string;
  node: SimNode | undefined;
  /** canonical path of the result */
  path: string;
}

const MAX_LINKS = 40;

function split(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/** The inodes of one SimFs. */
export class Tree {
  inodes = new Map<number, SimNode>();
  nextIno = 11;
  clock = 1_700_000_000_000;
  readonly root: DirNode;

  constructor(root?: DirNode) {
    this.root = root ?? { kind: 'dir', ino: 2, mode: 0o755, mtimeMs: this.clock, birthNs: `${this.clock}000000`, entries: new Map(), durable: { entries: new Map(), mode: 0o755, mtimeMs: this.clock } };
    this.inodes.set(this.root.ino, this.root);
  }

  /** A monotonic fake clock, one tick per change. */
  tick(): number {
    return ++this.clock;
  }

  get(ino: number): SimNode {
    const node = this.inodes.get(ino);
    if (!node) throw new Error(`SimFs: dangling inode ${ino}`);
    return node;
  }

  newFile(mode: number): FileNode {
    const t = this.tick();
    const node: FileNode = { kind: 'file', ino: this.nextIno++, mode, mtimeMs: t, birthNs: `${t}000000`, data: new SparseData(), durable: { data: new SparseData(), mode, mtimeMs: t } };
    this.inodes.set(node.ino, node);
    return node;
  }

  newDir(mode: number): DirNode {
    const t = this.tick();
    const node: DirNode = { kind: 'dir', ino: this.nextIno++, mode, mtimeMs: t, birthNs: `${t}000000`, entries: new Map(), durable: { entries: new Map(), mode, mtimeMs: t } };
    this.inodes.set(node.ino, node);
    return node;
  }

  newLink(target: string): LinkNode {
    const t = this.tick();
    const node: LinkNode = { kind: 'symlink', ino: this.nextIno++, mode: 0o777, mtimeMs: t, birthNs: `${t}000000`, target };
    this.inodes.set(node.ino, node);
    return node;
  }

  /** Resolves `path`; intermediate symlinks are always followed, the last one when `followLast`. */
  walk(path: string, followLast: boolean, syscall: string): Walk {
    let todo = split(path);
    const stack: { node: DirNode; path: string; name: string }[] = [{ node: this.root, path: '/', name: '' }];
    let links = 0;
    while (todo.length > 0) {
      const comp = todo.shift()!;
      const top = stack[stack.length - 1]!;
      if (comp === '..') {
        if (stack.length > 1) stack.pop();
        continue;
      }
      const ino = top.node.entries.get(comp);
      const node = ino === undefined ? undefined : this.get(ino);
      const last = todo.length === 0;
      if (node?.kind === 'symlink' && (!last || followLast)) {
        if (++links > MAX_LINKS) throw fsError('ELOOP', syscall, path);
        if (node.target.startsWith('/')) stack.length = 1;
        todo = [...split(node.target), ...todo];
        continue;
      }
      if (last) return { parent: top.node, parentPath: top.path, name: comp, node, path: join(top.path, comp) };
      if (!node) throw fsError('ENOENT', syscall, path);
      if (node.kind !== 'dir') throw fsError('ENOTDIR', syscall, path);
      stack.push({ node, path: join(top.path, comp), name: comp });
    }
    const top = stack[stack.length - 1]!;
    const parent = stack[stack.length - 2] ?? top;
    return { parent: parent.node, parentPath: parent.path, name: top.name, node: top.node, path: top.path };
  }

  /** Inodes reachable from the root through current or durable entries. */
  reachable(): Set<number> {
    const seen = new Set<number>([this.root.ino]);
    const queue: SimNode[] = [this.root];
    while (queue.length > 0) {
      const node = queue.pop()!;
      if (node.kind !== 'dir') continue;
      for (const ino of [...node.entries.values(), ...node.durable.entries.values()]) {
        if (seen.has(ino)) continue;
        seen.add(ino);
        queue.push(this.get(ino));
      }
    }
    return seen;
  }

  link<T extends SimNode>(parent: DirNode, name: string, node: T): T {
    parent.entries.set(name, node.ino);
    parent.mtimeMs = this.tick();
    return node;
  }

  unlink(parent: DirNode, name: string): void {
    parent.entries.delete(name);
    parent.mtimeMs = this.tick();
  }

  /** Creates missing parent directories of `path` (0o755), durably when asked; walks `path`. */
  ensureParents(path: string, durable: boolean): Walk {
    let dir = '';
    for (const part of split(path).slice(0, -1)) {
      dir += `/${part}`;
      const w = this.walk(dir, true, 'mkdir');
      const node = w.node ?? this.link(w.parent, w.name, this.newDir(0o755));
      if (durable) this.markDurable(dir, node);
    }
    return this.walk(path, false, 'open');
  }

  /** Makes `node`'s own state and its entry in every ancestor durable (nothing else). */
  markDurable(path: string, node: SimNode): void {
    if (node.kind === 'file') node.durable = { data: node.data.copy(), mode: node.mode, mtimeMs: node.mtimeMs };
    if (node.kind === 'dir') node.durable = { entries: node.durable.entries, mode: node.mode, mtimeMs: node.mtimeMs };
    let w = this.walk(path, false, 'fsync');
    while (w.name !== '') {
      w.parent.durable = { ...w.parent.durable, entries: new Map(w.parent.durable.entries).set(w.name, w.node!.ino) };
      w = this.walk(w.parentPath, false, 'fsync');
    }
  }

  /** Every path below the root → kind, size, mode, content hash. */
  snapshot(): Record<string, TreeEntry> {
    const out: Record<string, TreeEntry> = {};
    const visit = (dir: string, node: SimNode): void => {
      if (node.kind !== 'dir') return;
      for (const [name, ino] of [...node.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const child = this.get(ino);
        const path = join(dir, name);
        if (child.kind === 'file') out[path] = { kind: 'file', size: child.data.size, mode: child.mode, hash: child.data.digest() };
        else if (child.kind === 'dir') out[path] = { kind: 'dir', mode: child.mode };
        else out[path] = { kind: 'symlink', target: child.target };
        visit(path, child);
      }
    };
    visit('/', this.root);
    return out;
  }

  /** Reverts every reachable directory and file to its durable state; drops the rest. */
  revertToDurable(): void {
    const seen = new Set<number>([this.root.ino]);
    const queue: SimNode[] = [this.root];
    while (queue.length > 0) {
      const node = queue.pop()!;
      if (node.kind === 'file') {
        node.data = node.durable.data.copy();
        node.mode = node.durable.mode;
        node.mtimeMs = node.durable.mtimeMs;
      } else if (node.kind === 'dir') {
        node.entries = new Map(node.durable.entries);
        node.mode = node.durable.mode;
        node.mtimeMs = node.durable.mtimeMs;
        for (const ino of node.entries.values()) {
          if (seen.has(ino)) continue;
          seen.add(ino);
          queue.push(this.get(ino));
        }
      }
    }
    for (const ino of [...this.inodes.keys()]) if (!seen.has(ino)) this.inodes.delete(ino);
  }

  /** A deep copy (file chunks are shared: they are immutable). */
  copy(): Tree {
    const keep = this.reachable();
    const copyNode = (node: SimNode): SimNode => {
      switch (node.kind) {
        case 'file':
          return { ...node, data: node.data.copy(), durable: { ...node.durable } };
        case 'dir':
          return { ...node, entries: new Map(node.entries), durable: { ...node.durable, entries: new Map(node.durable.entries) } };
        case 'symlink':
          return { ...node };
      }
    };
    const tree = new Tree(copyNode(this.root) as DirNode);
    for (const ino of keep) if (ino !== this.root.ino) tree.inodes.set(ino, copyNode(this.get(ino)));
    tree.nextIno = this.nextIno;
    tree.clock = this.clock;
    return tree;
  }
}

/** What stat(2) would report for `node`. */
export function statOf(node: SimNode, dev: string): FsStat {
  const size = node.kind === 'file' ? node.data.size : node.kind === 'dir' ? 4096 : Buffer.byteLength(node.target);
  return { kind: node.kind, size, ino: node.ino, dev, mode: node.mode, uid: 0, mtimeMs: node.mtimeMs, birthNs: node.birthNs };
}

