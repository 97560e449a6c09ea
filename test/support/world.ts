/**
 * An in-process world for engine tests: a SimFs (power cuts drop unsynced writes), a
 * FakeKernel over it, in-memory locks, the journal store, and runners wired with a crash
 * hook. Everything a test asserts is read from the fake kernel or the SimFs.
 */
import { createHash } from 'node:crypto';
import { CrashSignal, type CrashHook, type SyncCall } from '../../journal/durability.js';
import type { FlowEvent } from '../../journal/events.js';
import { MemoryLocks } from '../../journal/lock.js';
import { JournalStore } from '../../journal/store.js';
import { findWorkflow } from '../../machines/index.js';
import type { Json } from '../../machines/types.js';
import { dmMidpoint } from '../../src/testing/midpoints.js';
import { Runner, type RunOutcome } from '../../src/engine/runner.js';
import { SimFs } from '../../src/fs/sim.js';
import { FakeKernel } from '../../src/kernel/fake/kernel.js';
import { preflights, type RawOptions } from '../../src/preflight/index.js';

export const STATE_DIR = '/var/lib/flow';

export class World {
  readonly locks = new MemoryLocks();
  /** events the CLI would have shown (each was durable when shown) */
  reported: FlowEvent[] = [];
  private uuidCounter = 0;

  constructor(
    readonly fs: SimFs,
    readonly kernel: FakeKernel,
  ) {}

  static create(): World {
    const fs = new SimFs();
    for (const d of ['/var/lib', '/run', '/img', '/mnt']) fs.putDir(d, { durable: true });
    return new World(fs, new FakeKernel(fs, { bootId: 'boot-0', memTotal: 4 * 1024 ** 3 }));
  }

  clone(): World {
    const fs = this.fs.clone();
    const w = new World(fs, this.kernel.clone(fs));
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

  async preflight(workflow: string, raw: RawOptions, id: string): Promise<Json> {
    return preflights[workflow]!(raw, { kernel: this.kernel, cwd: '/', runDir: '/run/flow', id, newUuid: () => `00000000-0000-4000-8000-${String(++this.uuidCounter).padStart(12, '0')}` });
  }

  async start(workflow: string, raw: RawOptions, id: string, opts: { keepOnFailure?: boolean } = {}): Promise<RunOutcome> {
    const params = await this.preflight(workflow, raw, id);
    const wf = findWorkflow(workflow)!;
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
