/**
 * `FakeKernel`: an in-memory `Kernel` with the real kernel's error semantics (see
 * design/kernel-facts.md), over an injected `Fs` for backing files and mount points.
 * Every operation runs through `exec`, which (for a persisted kernel) reloads the state
 * first and saves it after any change, applies armed faults, offers crash points
 * (`onPoint`), and counts operations and mutations.
 */
import { randomUUID } from 'node:crypto';
import { KernelError } from '../../errors.js';
import type { Fs } from '../../fs/types.js';
import { reportCommand } from '../exec.js';
import type { DmFacility, FilesystemFacility, Kernel, LoopFacility, MountFacility, PartitionFacility, SystemFacility, ZramFacility } from '../types.js';
import { readDevice, writeDevice } from './blockio.js';
import { kerr, type Ctx, type PointHook } from './context.js';
import { collectAutoclear, findDevice } from './devices.js';
import { armFault, faultError, takeFault, type KernelFault } from './faults.js';
import { buildFacilities, type Kind } from './facilities.js';
import { summarize, type KernelSnapshot } from './snapshot.js';
import { emptyState, parseState, type KernelState } from './state.js';

/** Options of a new FakeKernel. */
export interface FakeKernelOptions {
  /** MemTotal in bytes (default 8 GiB) */
  memTotal?: number;
  /** initial boot id (default: random) */
  bootId?: string;
  /** crash hook, see PointHook */
  onPoint?: PointHook;
}

/** Where a persisted kernel keeps its state between processes. */
export interface StateStore {
  load(): Promise<KernelState>;
  save(state: KernelState): Promise<void>;
}

const LOG_LIMIT = 2000;

/** The fake kernel. Facilities follow `Kernel`; the rest are test controls. */
export class FakeKernel implements Kernel {
  readonly loop: LoopFacility;
  readonly dm: DmFacility;
  readonly zram: ZramFacility;
  readonly mounts: MountFacility;
  readonly filesystems: FilesystemFacility;
  readonly partitions: PartitionFacility;
  readonly system: SystemFacility;
  /** Crash hook: called with 'command-running' before an atomic op's effect (stage
   *  "before") and between the steps of dm.create (stages "created", "loaded"). A hook
   *  that throws leaves the kernel exactly as it was at that instant. */
  onPoint: PointHook | undefined;
  private state: KernelState;

  constructor(
    readonly fs: Fs,
    options: FakeKernelOptions = {},
    init: { state?: KernelState; store?: StateStore } = {},
  ) {
    this.state = init.state ?? emptyState(options.memTotal, options.bootId);
    this.store = init.store;
    this.onPoint = options.onPoint;
    const f = buildFacilities(this.exec.bind(this));
    this.loop = f.loop;
    this.dm = f.dm;
    this.zram = f.zram;
    this.mounts = f.mounts;
    this.filesystems = f.filesystems;
    this.partitions = f.partitions;
    this.system = f.system;
  }

  private readonly store: StateStore | undefined;

  /** Sets (or clears) the crash hook; see `onPoint`. */
  setPointHook(hook: PointHook | undefined): void {
    this.onPoint = hook;
  }

  /** Runs one operation: reload, faults, crash point, effect, counters, save. */
  private async exec<T>(op: string, kind: Kind, what: string, fn: (ctx: Ctx) => T | Promise<T>, compound = false): Promise<T> {
    if (this.store) this.state = await this.store.load();
    const state = this.state;
    let dirty = kind !== 'read';
    let touched = false;
    let counted = false;
    const count = () => {
      if (touched && !counted) state.mutations++, (counted = true);
    };
    const ctx: Ctx = {
      state,
      fs: this.fs,
      op,
      touch: () => void (touched = true),
      point: async (stage) => {
        count();
        if (this.store) await this.store.save(state);
        await this.onPoint?.('command-running', { op, stage });
      },
      fault: (subOp) => {
        const f = takeFault(state, subOp, 'before');
        if (f) throw faultError(f);
      },
    };
    if (kind === 'op') state.operations++;
    const started = performance.now();
    let failed: unknown;
    try {
      const before = kind === 'test' ? null : takeFault(state, op, 'before');
      if (before) throw faultError(before);
      if (kind === 'op' && !compound) await ctx.point('before');
      const result = await fn(ctx);
      const after = kind === 'test' ? null : takeFault(state, op, 'after');
      if (after) throw faultError(after);
      if (kind === 'op') this.record(`${op} ${what} → ok`);
      return result;
    } catch (err) {
      if (kind === 'op') this.record(`${op} ${what} → ${err instanceof KernelError ? err.code : 'crash'}`);
      failed = err;
      throw err;
    } finally {
      count();
      dirty ||= touched || state.faults.length > 0;
      if (this.store && dirty) await this.store.save(state);
      // what --verbose shows for a real command (argv, exit code, duration); test controls are not commands
      if (kind !== 'test') {
        const code = failed instanceof KernelError ? failed.code : failed === undefined ? undefined : 'EFAIL';
        reportCommand({ argv: ['fake', op, ...(what ? what.split(' ') : [])], exitCode: failed === undefined ? 0 : 1, durationMs: performance.now() - started, ...(code ? { error: code } : {}) });
      }
    }
  }

  private record(line: string): void {
    this.state.log.push(line);
    if (this.state.log.length > LOG_LIMIT) this.state.log.splice(0, this.state.log.length - LOG_LIMIT);
  }

  /** Successful state changes so far (an op that changed nothing does not count). */
  get mutations(): number {
    return this.state.mutations;
  }

  /** Calls of state-changing operations so far, whatever their outcome: zero for a recovery that did nothing. */
  get operations(): number {
    return this.state.operations;
  }

  /** One line per state-changing call ("dm.create NAME → ok"), oldest first. */
  get log(): readonly string[] {
    return this.state.log;
  }

  /** Reloads a persisted state (so the getters above are current); no-op in memory. */
  async refresh(): Promise<void> {
    if (this.store) this.state = await this.store.load();
  }

  /** Reboot: every loop, dm, zram device and mount vanishes, the boot id changes. The Fs is not touched. */
  async reboot(): Promise<void> {
    await this.exec('reboot', 'test', '', ({ state, touch }) => {
      Object.assign(state, { bootId: randomUUID(), diskseq: 0, loops: [], loopNodes: 0, dm: [], zram: [], mounts: [], holds: { mounts: [], devices: {} } });
      touch();
    });
  }

  /** Arms a fault (see KernelFault). */
  injectFault(fault: KernelFault): Promise<void> {
    return this.exec('injectFault', 'test', '', ({ state, touch }) => void (armFault(state, fault), touch()));
  }

  /** Disarms every fault. */
  clearFaults(): Promise<void> {
    return this.exec('clearFaults', 'test', '', ({ state, touch }) => void ((state.faults = []), touch()));
  }

  /** Keeps a mount point busy (umount → EBUSY) until releaseMount. */
  holdMount(target: string): Promise<void> {
    return this.exec('holdMount', 'test', '', ({ state, touch }) => void (state.holds.mounts.push(target), touch()));
  }

  /** Releases a holdMount. */
  releaseMount(target: string): Promise<void> {
    return this.exec('releaseMount', 'test', '', ({ state, touch }) => void ((state.holds.mounts = state.holds.mounts.filter((t) => t !== target)), touch()));
  }

  /** An outside opener of a device (/dev path or major:minor): it counts as a holder. */
  openDevice(device: string): Promise<void> {
    return this.exec('openDevice', 'test', '', ({ state, touch }) => {
      const dev = findDevice(state, device);
      if (!dev) throw kerr('ENXIO', `no device ${device}`);
      state.holds.devices[dev.majmin] = (state.holds.devices[dev.majmin] ?? 0) + 1;
      touch();
    });
  }

  /** Closes an openDevice; an autoclear loop goes away if that was its last holder. */
  closeDevice(device: string): Promise<void> {
    return this.exec('closeDevice', 'test', '', ({ state, touch }) => {
      const majmin = findDevice(state, device)?.majmin ?? device;
      const n = (state.holds.devices[majmin] ?? 0) - 1;
      if (n > 0) state.holds.devices[majmin] = n;
      else delete state.holds.devices[majmin];
      collectAutoclear(state);
      touch();
    });
  }

  /** Leaves a dm device suspended, as a crash in the middle of a reload would. */
  suspendDm(name: string): Promise<void> {
    return this.exec('suspendDm', 'test', '', ({ state, touch }) => {
      const d = state.dm.find((x) => x.name === name);
      if (!d) throw kerr('ENXIO', `no dm device ${name}`);
      d.suspended = true;
      touch();
    });
  }

  /** A process writing `data` at byte `offset` of a device (/dev path or major:minor), e.g. filling a snapshot's COW. */
  writeDevice(device: string, offset: number, data: Uint8Array): Promise<void> {
    return this.exec('writeDevice', 'test', device, async (ctx) => {
      const dev = findDevice(ctx.state, device);
      if (!dev) throw kerr('ENXIO', `no device ${device}`);
      await writeDevice(ctx, dev, offset, data);
    });
  }

  /** What a reader of a device (/dev path or major:minor) sees: `length` bytes at byte `offset` (zeros past its end). */
  readDevice(device: string, offset: number, length: number): Promise<Uint8Array> {
    return this.exec('readDevice', 'test', device, async (ctx) => {
      const dev = findDevice(ctx.state, device);
      if (!dev) throw kerr('ENXIO', `no device ${device}`);
      return readDevice(ctx, dev, offset, length);
    });
  }

  /** A comparable summary of the devices and mounts (in memory; call refresh() first when persisted). */
  snapshotState(): KernelSnapshot {
    return summarize(this.state);
  }

  /** The whole state, JSON-serialisable. */
  toJSON(): KernelState {
    return structuredClone(this.state);
  }

  /** A kernel from a `toJSON()` value (or its JSON text), over `fs`. */
  static fromJSON(json: unknown, fs: Fs, options: Omit<FakeKernelOptions, 'memTotal' | 'bootId'> = {}): FakeKernel {
    return new FakeKernel(fs, options, { state: parseState(json) });
  }

  /** An independent in-memory copy (for branching crash scenarios together with SimFs.clone()). */
  clone(fs: Fs = this.fs): FakeKernel {
    return new FakeKernel(fs, { ...(this.onPoint ? { onPoint: this.onPoint } : {}) }, { state: this.toJSON() });
  }
}
