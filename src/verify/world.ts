/**
 * A simulated host, entirely in memory: a SimFs (power cuts drop unsynced writes), a
 * FakeKernel over it, in-memory locks, the journal store, and runners wired with a crash
 * hook. `flow verify` and the crash tests run workflows in it; nothing here reaches the
 * host's kernel, files or state directory.
 */
import { createHash } from 'node:crypto';
import { CrashSignal, type CrashHook, type SyncCall } from '../../journal/durability.js';
import type { FlowEvent } from '../../journal/events.js';
import { MemoryLocks } from '../../journal/lock.js';
import { JournalStore } from '../../journal/store.js';
import type { Json, WorkflowDef } from '../../machines/types.js';
import { Runner, type RunOutcome } from '../engine/runner.js';
import { SimFs } from '../fs/sim.js';
import type { PointHook } from '../kernel/fake/context.js';
// kernel.js itself, never the fake kernel's index: that one also holds the test entry's persisted kernel
import { FakeKernel } from '../kernel/fake/kernel.js';
import type { PreflightEnv } from '../preflight/types.js';

export const STATE_DIR = '/var/lib/flow';
/** where a run's default mount point goes in the simulated host */
export const RUN_DIR = '/run/flow';

/** The fake kernel's hook, narrowed to the half-created dm device (name held, no table yet): a dm create's "command running". */
function dmMidpoint(fn: (() => void) | undefined): PointHook | undefined {
  return fn ? (_p, info) => (info.op === 'dm.create' && info.stage === 'created' ? fn() : undefined) : undefined;
}

export class SimWorld {
  readonly locks = new MemoryLocks();
  /** events the CLI would have shown (each was durable when shown) */
  reported: FlowEvent[] = [];
  private uuidCounter = 0;

  constructor(
    readonly fs: SimFs,
    readonly kernel: FakeKernel,
  ) {}

  /** A fresh world (of the class it is called on: a test's subclass clones as itself). */
  static create<W extends SimWorld>(this: new (fs: SimFs, kernel: FakeKernel) => W): W {
    const fs = new SimFs();
    for (const d of ['/var/lib', '/run', '/img', '/mnt']) fs.putDir(d, { durable: true });
    return new this(fs, new FakeKernel(fs, { bootId: 'boot-0', memTotal: 4 * 1024 ** 3 }));
  }

  clone(): this {
    const fs = this.fs.clone();
    const w = new (this.constructor as new (fs: SimFs, kernel: FakeKernel) => this)(fs, this.kernel.clone(fs));
    w.uuidCounter = this.uuidCounter;
    w.disabledSyncs = this.disabledSyncs;
    return w;
  }

  /** journal sync calls to skip (fsync mutation testing) */
  disabledSyncs: Set<SyncCall> | undefined;

  async store(): Promise<JournalStore> {
    return JournalStore.open({ fs: this.fs, crash: this.crashHook, disabledSyncs: this.disabledSyncs }, STATE_DIR, { uid: 0, now: () => '2026-11-21T00:00:00.000Z' });
  }

  /** Throw CrashSignal at this point (and record every point passed). */
  crashAt: string | undefined;
  pointsSeen: string[] = [];
  /** Called at every point before the crash check (a test makes something happen there, e.g. another process's file). */
  atPoint: ((point: string) => void) | undefined;
  private readonly crashHook: CrashHook = (point) => {
    this.pointsSeen.push(point);
    this.atPoint?.(point);
    if (point === this.crashAt) throw new CrashSignal(point);
  };

  async runner(): Promise<Runner> {
    return new Runner({
      kernel: this.kernel,
      store: await this.store(),
      locks: this.locks,
      flowVersion: 'test',
      crash: this.crashHook,
      setKernelMidpoint: (fn) => (this.kernel.onPoint = dmMidpoint(fn)),
      observe: (e) => this.reported.push(e),
    });
  }

  /** What a preflight gets here: this world's kernel, and UUIDs counted (a clone gives the same ones). */
  preflightEnv(id: string, cwd = '/'): PreflightEnv {
    return { kernel: this.kernel, cwd, runDir: RUN_DIR, id, newUuid: () => `00000000-0000-4000-8000-${String(++this.uuidCounter).padStart(12, '0')}` };
  }

  /** Starts `wf` with params already resolved (a workflow file's through src/preflight/workflow.ts; the tests' format-1 runs: test/support/format1). */
  async startWith(wf: WorkflowDef<any>, params: Json, id: string, opts: { keepOnFailure?: boolean } = {}): Promise<RunOutcome> {
    return (await this.runner()).start({ id, workflow: wf, params, keepOnFailure: !!opts.keepOnFailure });
  }

  /** The process died: its locks are gone; memory and disk stay. */
  processCrash(): void {
    this.locks.crash();
    this.kernel.onPoint = undefined;
  }

  /** The machine lost power: unsynced writes are dropped, the kernel reboots. */
  async powerCut(): Promise<void> {
    this.processCrash();
    this.fs.powerCut();
    await this.kernel.reboot();
  }

  /** Files and directories outside the state directory, with content hashes. */
  tree(): Record<string, unknown> {
    return Object.fromEntries(Object.entries(this.fs.snapshotTree()).filter(([p]) => !p.startsWith(STATE_DIR)));
  }

  async fileHash(path: string): Promise<string> {
    return createHash('sha256').update(await this.fs.readFile(path)).digest('hex');
  }
}
