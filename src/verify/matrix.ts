/**
 * The in-process crash matrix: for every workflow, a crash at every named point of every
 * step and every compensation, as a process crash (memory and disk survive, locks are
 * released) and as a power cut (unsynced writes dropped, the kernel reboots), followed by
 * resume and, separately, rollback; then a crash during that recovery and a second
 * recovery. Checks invariants I1–I7 of crash-model.md and counts everything.
 */
import { isDeepStrictEqual } from 'node:util';
import { CrashSignal, type SyncCall } from '../../journal/durability.js';
import type { FlowEvent } from '../../journal/events.js';
import type { StepKind } from '../../machines/types.js';
import { applyPoints, undoPoints } from '../engine/crash-points.js';
import { RunNotFoundError, UsageError } from '../errors.js';
import { KIND_SPECS } from '../steps/kinds/index.js';
import { ID, recoverWithOperator, type OperatorStop } from './operator.js';
import { startRun, stepsIn, type Subject } from './subject.js';
import { SimWorld as World } from './world.js';

export type Mode = 'process' | 'power';
export type Recovery = 'resume' | 'rollback';

export interface Figures {
  workflow: string;
  pointsEnumerated: number;
  pointsTried: Set<string>;
  runs: number;
  outcomes: Record<string, number>;
  violations: string[];
  leaks: number;
  recoveryCrashes: number;
  /** flow stopped for the operator: it could not tell a loop/zram device of its own from another program's */
  operatorStops: number;
}

export interface EndState {
  kernel: unknown;
  tree: unknown;
}

/** The host as a user sees it; inode numbers are left out (a file created again after a crash gets a new one), and so are
 *  device numbers (a power cut boots with the disks numbered otherwise: SimFs.powerCut). */
export function endState(w: World): EndState {
  const k = w.kernel.snapshotState();
  // a bind mount of the host's own filesystem carries its major:minor, which a boot may change (src/fs/sim.ts)
  const mounts = k.mounts.map((m) => (m.majmin === w.fs.dev ? { ...m, majmin: 'the host filesystem' } : m));
  return { kernel: { ...k, loops: k.loops.map(({ backingIno: _i, backingDev: _d, ...l }) => l), mounts }, tree: w.tree() };
}

export async function crash(w: World, mode: Mode, sub: Subject): Promise<void> {
  if (mode === 'process') {
    w.processCrash();
    return;
  }
  await w.powerCut();
  await sub.afterBoot(w); // what the host's own boot sets up again; flow must not touch it
}

/** I3: every kernel object carrying this run's marker has a durable intent. */
async function checkI3(w: World, v: string[], where: string): Promise<void> {
  let events: readonly FlowEvent[] = [];
  try {
    events = (await (await w.store()).load(ID)).events;
  } catch {
    events = [];
  }
  const intended = new Set(events.filter((e) => e.type === 'StepIntended').map((e) => (e as { step: string }).step));
  for (const d of w.kernel.snapshotState().dm) {
    const m = /^FLOW-([a-z0-9]+)-(.+)$/.exec(d.uuid);
    if (m && m[1] === ID && !intended.has(m[2]!)) v.push(`${where}: I3 dm ${d.name} (${d.uuid}) exists without a durable intent`);
  }
}

/** I2: every event shown to the user is in the journal, unchanged. */
async function checkI2(w: World, reported: FlowEvent[], v: string[], where: string): Promise<void> {
  if (reported.length === 0) return;
  const events = (await (await w.store()).load(ID)).events;
  for (const e of reported) {
    if (!isDeepStrictEqual(events[e.seq], e)) v.push(`${where}: I2 reported event ${e.seq} ${e.type} is not in the journal`);
  }
}

export async function recover(w: World, how: Recovery): Promise<{ phase: string } | 'not-found'> {
  const r = await w.runner();
  try {
    return how === 'resume' ? await r.resume(ID) : await r.rollback(ID);
  } catch (err) {
    if (err instanceof RunNotFoundError) return 'not-found';
    throw err;
  }
}

/**
 * Where flow may stop for the operator, by kind, as each kind's spec says (`unmarked`): a
 * process crash after its hot_add / bind and before the outcome is durable leaves a device
 * that nothing in the kernel tells from one another program made in that window.
 */
export const operatorWindow = (kind: string): readonly string[] => (Object.hasOwn(KIND_SPECS, kind) ? KIND_SPECS[kind as StepKind].unmarked?.operatorWindow ?? [] : []);

/** Checks operator stops against the crash points that preceded them (`window`: the points, by kind, after which a stop is right). */
export function checkStops(stops: OperatorStop[], crashPoints: string[], mode: Mode, v: string[], where: string, window: (kind: string) => readonly string[] = operatorWindow, runDevices = 1): void {
  for (const st of stops) {
    const ok = mode === 'process' && crashPoints.some((p) => window(st.kind).some((suffix) => p === `apply:${st.step}:${suffix}`));
    if (!ok) v.push(`${where}: stopped for the operator at ${st.step} (${st.candidates.map((c) => c.device).join(', ')}) after a crash at ${crashPoints.join(' + ')}: flow should have settled it`);
    if (st.removed.length > runDevices || (runDevices === 1 && st.removed.length !== 1)) v.push(`${where}: the operator found ${st.removed.length} devices of the run at ${st.step}`);
  }
}

export class CrashMatrix {
  private base!: World;
  private baseline!: EndState;
  private reference!: EndState;
  readonly figures: Figures;
  private defsNames: string[] = [];

  constructor(
    private readonly sc: Subject,
    private readonly disabledSyncs?: Set<SyncCall>,
  ) {
    this.figures = { workflow: sc.workflow, pointsEnumerated: 0, pointsTried: new Set(), runs: 0, outcomes: {}, violations: [], leaks: 0, recoveryCrashes: 0, operatorStops: 0 };
  }

  /** recover(), playing the operator where flow may rightly stop (every device a stop names is the run's here). */
  private async recoverOp(w: World, how: Recovery, crashPoints: string[], mode: Mode, where: string): Promise<{ phase: string } | 'not-found'> {
    const stops: OperatorStop[] = [];
    const res = await recoverWithOperator(w, () => recover(w, how), () => false, stops);
    this.figures.operatorStops += stops.length;
    checkStops(stops, crashPoints, mode, this.figures.violations, where);
    return res;
  }

  async prepare(): Promise<{ forward: string[]; undo: string[] }> {
    this.base = World.create();
    await this.sc.setup(this.base);
    if (this.disabledSyncs) this.base.disabledSyncs = this.disabledSyncs; // else as the subject's host has it
    this.baseline = endState(this.base);
    const ref = this.base.clone();
    await startRun(ref, this.sc, ID);
    this.reference = endState(ref);
    const defs = await stepsIn(this.base, this.sc, ID);
    this.defsNames = defs.map((d) => d.name);
    // the new log is created whole (temp file, rename); every later event is appended
    const forward = ['start-written', 'start-renamed', 'start-synced', ...applyPoints(defs)];
    const undo = undoPoints(defs);
    this.figures.pointsEnumerated = forward.length + undo.length;
    return { forward, undo };
  }

  private count(outcome: string): void {
    this.figures.outcomes[outcome] = (this.figures.outcomes[outcome] ?? 0) + 1;
  }

  /** Checks the end state of a recovery; returns false on a violation. */
  private async checkEnd(w: World, how: Recovery, res: { phase: string } | 'not-found', where: string): Promise<void> {
    const v = this.figures.violations;
    if (res === 'not-found') {
      // crashed before the run was durably recorded: nothing may exist
      this.count('already clean');
      if (!isDeepStrictEqual(endState(w), this.baseline)) {
        v.push(`${where}: run not recorded but the host changed`);
        this.figures.leaks++;
      }
      return;
    }
    const want = how === 'resume' ? 'done' : 'rolled-back';
    if (res.phase !== want) v.push(`${where}: ${how} ended ${res.phase}, not ${want}`);
    this.count(how === 'resume' ? 'resumed' : 'rolled back');
    const expected = how === 'resume' ? this.reference : this.baseline;
    const got = endState(w);
    if (!isDeepStrictEqual(got.kernel, expected.kernel)) {
      v.push(`${where}: I4 kernel state after ${how} differs: ${JSON.stringify(got.kernel)} vs ${JSON.stringify(expected.kernel)}`);
      if (how === 'rollback') this.figures.leaks++;
    }
    if (!isDeepStrictEqual(got.tree, expected.tree)) {
      v.push(`${where}: I4 files after ${how} differ: ${JSON.stringify(got.tree)} vs ${JSON.stringify(expected.tree)}`);
      if (how === 'rollback') this.figures.leaks++;
    }
    // I5: recovering a second time performs zero kernel operations
    const before = w.kernel.operations;
    await recover(w, how);
    if (w.kernel.operations !== before) v.push(`${where}: I5 a second ${how} ran ${w.kernel.operations - before} kernel operations`);
  }

  /** Crash at `point` of the forward run, then recover with `how`. */
  async forward(point: string, mode: Mode, how: Recovery, rotation: number): Promise<void> {
    const where = `${this.sc.workflow} ${point} ${mode} ${how}`;
    const w = this.base.clone();
    w.crashAt = point;
    if (!(await this.crashes(w, () => startRun(w, this.sc, ID), where))) return;
    const reported = [...w.reported];
    if (mode === 'process') await checkI3(w, this.figures.violations, where);
    await crash(w, mode, this.sc);
    await this.recoverChecked(w, how, reported, where, mode, rotation, point);
  }

  /** Crash at `point` of a rollback of a finished run, then roll back again. */
  async undo(point: string, mode: Mode, rotation: number): Promise<void> {
    const where = `${this.sc.workflow} ${point} ${mode} rollback`;
    const w = this.base.clone();
    await startRun(w, this.sc, ID);
    w.reported = [];
    w.crashAt = point;
    if (!(await this.crashes(w, async () => (await w.runner()).rollback(ID), where))) return;
    const reported = [...w.reported];
    await crash(w, mode, this.sc);
    // a crashed rollback cannot be resumed forward
    const r = await w.runner();
    await r.resume(ID).then(
      () => this.figures.violations.push(`${where}: resume of a crashed rollback was accepted`),
      (err) => (err instanceof UsageError ? undefined : this.figures.violations.push(`${where}: resume refused with ${String(err)}`)),
    );
    await this.recoverChecked(w, 'rollback', reported, where, mode, rotation, point);
  }

  private async crashes(w: World, f: () => Promise<unknown>, where: string): Promise<boolean> {
    this.figures.runs++;
    try {
      await f();
      this.figures.violations.push(`${where}: point never reached`);
      return false;
    } catch (err) {
      if (!(err instanceof CrashSignal)) {
        this.figures.violations.push(`${where}: failed instead of crashing: ${String(err)}`);
        return false;
      }
      this.figures.pointsTried.add(err.point);
      w.crashAt = undefined;
      return true;
    }
  }

  /**
   * Recovers and checks; I6: in a copy of the crashed world, crashes the recovery too (at
   * one of its own points, rotating through them across runs), recovers again, and
   * expects the same end state.
   */
  private async recoverChecked(w: World, how: Recovery, reported: FlowEvent[], where: string, mode: Mode, rotation: number, point: string): Promise<void> {
    const second = w.clone();
    w.pointsSeen = [];
    let res;
    try {
      res = await this.recoverOp(w, how, [point], mode, where);
    } catch (err) {
      this.figures.violations.push(`${where}: ${how} failed: ${String(err)}`);
      return;
    }
    const points = w.pointsSeen.filter((p) => !p.startsWith('start'));
    if (res !== 'not-found') await checkI2(w, reported, this.figures.violations, where).catch((err) => this.figures.violations.push(`${where}: I1 journal unreadable: ${String(err)}`));
    await this.checkEnd(w, how, res, where);
    if (how === 'resume' && res !== 'not-found') {
      const back = await (await w.runner()).rollback(ID);
      if (back.phase !== 'rolled-back' || !isDeepStrictEqual(endState(w), this.baseline)) {
        this.figures.violations.push(`${where}: rollback after resume is not exact`);
        this.figures.leaks++;
      }
    }
    if (points.length === 0 || res === 'not-found') return;
    const q = points[rotation % points.length]!;
    second.crashAt = q;
    second.pointsSeen = [];
    const again = `${where} + crash in recovery at ${q}`;
    try {
      await this.recoverOp(second, how, [point], mode, again);
      this.figures.violations.push(`${again}: point never reached`);
      return;
    } catch (err) {
      if (!(err instanceof CrashSignal)) {
        this.figures.violations.push(`${again}: failed: ${String(err)}`);
        return;
      }
    }
    this.figures.recoveryCrashes++;
    second.crashAt = undefined;
    await crash(second, mode, this.sc);
    try {
      const r2 = await this.recoverOp(second, how, [point, q], mode, again);
      await this.checkEnd(second, how, r2, again);
    } catch (err) {
      this.figures.violations.push(`${again}: I6 second recovery failed: ${String(err)}`);
    }
  }

  get stepNames(): string[] {
    return this.defsNames;
  }

  /** The whole matrix: every forward point × both crash modes × resume and rollback, every undo point × both modes. */
  static cases(points: { forward: string[]; undo: string[] }, modes: Mode[] = MODES): number {
    return points.forward.length * modes.length * RECOVERIES.length + points.undo.length * modes.length;
  }

  /** Runs `cases` after prepare(); `tick` after each case. */
  async runAll(points: { forward: string[]; undo: string[] }, tick: () => void = () => undefined, modes: Mode[] = MODES): Promise<Figures> {
    let rotation = 0;
    // a case that throws (past the checks that expect it to) is a finding, and the matrix goes on
    const guard = async (where: string, f: () => Promise<void>) => {
      await f().catch((err: unknown) => this.figures.violations.push(`${this.sc.workflow} ${where}: failed: ${String(err)}`));
      tick();
    };
    for (const p of points.forward) for (const mode of modes) for (const how of RECOVERIES) {
      const r = rotation++;
      await guard(`${p} ${mode} ${how}`, () => this.forward(p, mode, how, r));
    }
    for (const p of points.undo) for (const mode of modes) {
      const r = rotation++;
      await guard(`${p} ${mode} rollback`, () => this.undo(p, mode, r));
    }
    return this.figures;
  }
}

export const MODES: Mode[] = ['process', 'power'];
export const RECOVERIES: Recovery[] = ['resume', 'rollback'];
