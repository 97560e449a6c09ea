/**
 * SimFs file handles: valid until closed or until a power cut (EBADF afterwards).
 */
import type { FileHandle, FsStat } from './types.js';
import type { FaultTable } from './sim-faults.js';
import { fsError } from './sim-faults.js';
import { statOf, type FileNode, type Tree } from './sim-tree.js';

/** What a handle needs from its SimFs. */
export interface HandleOwner {
  readonly epoch: number;
  readonly faults: FaultTable;
  readonly tree: Tree;
  readonly dev: string;
}

/** An open file of a SimFs. */
export class SimHandle implements FileHandle {
  closed = false;
  constructor(
    private readonly sim: HandleOwner,
    private readonly node: FileNode,
    private readonly path: string,
    private readonly writable: boolean,
    private readonly epoch: number,
  ) {}

  private live(syscall: string, write = false): FileNode {
    if (this.closed || this.epoch !== this.sim.epoch || (write && !this.writable)) throw fsError('EBADF', syscall);
    return this.node;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    const node = this.live('write', true);
    this.sim.faults.check('write', 'write', this.path);
    node.data.write(data, position);
    node.mtimeMs = this.sim.tree.tick();
  }

  async read(length: number, position: number): Promise<Buffer> {
    const node = this.live('read');
    this.sim.faults.check('read', 'read', this.path);
    return node.data.read(length, position);
  }

  async truncate(length: number): Promise<void> {
    const node = this.live('ftruncate', true);
    this.sim.faults.check('truncate', 'ftruncate', this.path);
    node.data.truncate(length);
    node.mtimeMs = this.sim.tree.tick();
  }

  async sync(): Promise<void> {
    const node = this.live('fsync');
    this.sim.faults.check('sync', 'fsync', this.path);
    node.durable = { data: node.data.copy(), mode: node.mode, mtimeMs: node.mtimeMs };
  }

  /** As `sync` here: the simulated file has no metadata apart from its data worth keeping apart. */
  async datasync(): Promise<void> {
    const node = this.live('fdatasync');
    this.sim.faults.check('sync', 'fdatasync', this.path);
    node.durable = { data: node.data.copy(), mode: node.mode, mtimeMs: node.mtimeMs };
  }

  async stat(): Promise<FsStat> {
    return statOf(this.live('fstat'), this.sim.dev);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

