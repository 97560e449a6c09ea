/**
 * The real-kernel SIGKILL matrix (lab only). For every workflow, every named point of every
 * step and every compensation, as the CLI lists them (FLOW_CRASH_AT=list), is tried with a
 * real SIGKILL. A forward point is followed by `flow resume` and, separately, by `flow
 * rollback`; a point of a compensation by `flow rollback` (and `flow resume` must refuse).
 * Points whose killed state is another point's state (SECONDARY below: `-appended`/`-renamed` ≡
 * `-synced`, `-written` ≡ the point before plus a stale temp file) are recovered one way
 * only: resume for forward points, rollback for compensation points. At the points where a
 * command runs, once killing flow alone (the command finishes on its own) and once killing
 * the command's process group too.
 *
 * Economy (a CLI start costs 1-2.5 s in the lab): invocations are chained. A recovery is
 * itself killed at the next point it will reach (`resume` killed at p2 recovers p1 and tries
 * p2; `rollback` killed at u2 recovers u1 and tries u2), so one invocation both recovers a
 * point and tries the next (I6: a crash during recovery converges). Which point a recovery
 * will reach is predicted from the journal (the step protocol); a recovery that finishes
 * instead is checked like any finished one and the point goes back to the pool. Each point
 * needs two producers (a run or resume killed there) since one crashed state feeds one
 * recovery. Lanes (own folder, image, state dir) run side by side; a zram device that
 * appears while another lane's zram step is in doubt would be one more suspect that lane's
 * operator (the test) could not tell from its own, so at most one lane at a
 * time may run a snapshot-image episode that can reach its zram step.
 *
 * Checked after every kill: I1 (the journal reads back and folds), I2 (every line the CLI
 * printed about a step is an event in the journal), I3 (every loop, dm device, zram device,
 * mount and file of the lane has a durable intent), I7 (the lane's foreign objects are
 * there, unchanged). After every finished recovery: I4 (resume: the state an uninterrupted
 * run left, normalised; rollback: nothing of the run left). At episode ends, now and then (i5Due), I5 (a
 * second recovery runs no command that changes anything). At quiet moments and at the end:
 * the whole host equals what it was before (foreign objects included).
 */
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRunFile } from '../../journal/run-log.js';
import type { FlowEvent } from '../../journal/events.js';
import { STEP_POINTS } from '../../src/engine/crash-points.js';
import { fold } from '../../src/engine/fold.js';
import type { StepStatus } from '../../src/engine/state.js';
import { flowCli, globalView, gone, hostRaw, must, waitGone, isEmpty, laneRunIds, normalised, operatorStopRight, scoped, sleep, stepsMaking, stepsOfKind, type LaneScope, type Proc, type Raw } from './sigkill-host.js';

export type Variant = 'plain' | 'alone' | 'group';
/**
 * The three phases of a workflow's matrix, each its own test case: forward points killed
 * then resumed (chained), forward points killed then rolled back, compensation points
 * killed during a rollback then rolled back (and resume refused).
 */
export type Phase = 'resume' | 'rollback' | 'undo';
export const PHASES: readonly Phase[] = ['resume', 'rollback', 'undo'];
export type Dir = 'forward' | 'undo';

export interface Spec {
  key: string;
  point: string;
  variant: Variant;
  dir: Dir;
  step?: string;
  /** index in STEP_POINTS; -1 for the start points */
  pos: number;
  /** order in which a run (forward) or a rollback (undo) reaches it */
  idx: number;
  /**
   * False for a point whose killed state equals another point's (see SECONDARY): tried with
   * a real SIGKILL like every point, recovered one way only.
   */
  primary: boolean;
}

/**
 * Points whose SIGKILLed state is another point's state, so that recovering them both ways
 * again proves nothing new (a process kill loses no page cache; only a power cut, the
 * powercut tier, tells these points apart):
 *  - `X-appended` ≡ `X-synced`: the only thing between them is the log's fdatasync; files,
 *    kernel objects and locks are identical.
 *  - `start-renamed` ≡ `start-synced`: the only thing between them is the directory fsync
 *    after the new log's rename.
 *  - `start-written` ≡ no run recorded, plus a stale temp file `.<id>.json.<pid>.<n>.tmp`
 *    (format-1 journals of older flow also have `X-written` for every event: the point
 *    before the write plus a stale temp file).
 *    Between them flow only takes the allocation lock (gone with the process) and reads
 *    the kernel (observe). The temp file is removed by one code path that resume and
 *    rollback share (store.open under the run's lock, journal/durable-file.ts
 *    removeStaleTemps), and the matrix checks after every finished recovery that no temp
 *    file is left. A start killed there left no run: `flow recover` removes its temp file
 *    and lock file (test/cli/recover.test.ts).
 * Every point is still tried (killed there, I1-I3 and I7 checked in the killed state) and
 * recovered: forward secondary points by resume (the chained resume that tries the next
 * point), compensation secondary points by rollback; the primary points are recovered
 * both ways (forward: resume and rollback; compensation: rollback and a refused resume).
 */
export const SECONDARY = /-(written|renamed|appended)$/;

/**
 * How much of the matrix runs (FLOW_LAB_SIGKILL_SCOPE):
 *  - `every`: every point of every step and compensation of every workflow, each tried with
 *    a real SIGKILL (the whole matrix: ~60 min of a VM under TCG; run it by hand, docs/LAB.md).
 *  - `kinds` (the default, what `npm test` runs): every primary point of every step KIND, in
 *    the first workflow of KIND_ORDER whose run has a step of that kind, forward and
 *    compensation, with both recoveries. What it leaves out proves nothing new on the real
 *    kernel: a kind's probe, apply and undo are one module whatever workflow holds the step
 *    (the in-process matrix, test/crash, kills every workflow at every point against the fake
 *    kernel, which the contract suite proves equal to this one); and a secondary point's
 *    killed state is its primary's (SECONDARY above: a process kill loses no page cache).
 */
export type Scope = 'kinds' | 'every';
export function scopeFromEnv(env: NodeJS.ProcessEnv = process.env): Scope {
  const v = env.FLOW_LAB_SIGKILL_SCOPE ?? 'kinds';
  if (v !== 'kinds' && v !== 'every') throw new Error(`FLOW_LAB_SIGKILL_SCOPE=${v}: expected kinds or every`);
  return v;
}
/**
 * The workflow that carries a kind in the `kinds` scope: the first here whose run has it.
 * delayed-device first: its episodes run side by side on both lanes, while at most one lane
 * at a time may run a snapshot-image episode that reaches its zram step; so snapshot-image
 * carries only what delayed-device has not (partitions.check, zram.add, fs.grow).
 */
export const KIND_ORDER: readonly string[] = ['delayed-device', 'snapshot-image', 'loop-mount'];

/** The kind of a spec's step (start points: 'start'). */
const kindOf = (w: { kinds: Map<string, string> }, s: Spec): string => (s.step ? (w.kinds.get(s.step) ?? `?${s.step}`) : 'start');
/** What a kill at a spec tests on the real kernel, whatever the workflow: the step's kind, the point, the variant. */
export const kindPoint = (w: { kinds: Map<string, string> }, s: Spec): string =>
  `${s.dir} ${kindOf(w, s)}:${s.point.replace(/^.*:/, '')}#${s.variant}`;

const POS = Object.fromEntries(STEP_POINTS.map((p, i) => [p, i])) as Record<(typeof STEP_POINTS)[number], number>;
/** Kinds recovery always runs again (their probe says "absent": read-only or idempotent). */
const ALWAYS_AGAIN = new Set(['partitions.check', 'fs.grow']);

export interface Lane extends LaneScope {
  index: number;
  /** per workflow: the run arguments and the files a run creates (gone after rollback) */
  inputs: Record<string, { args: string[]; created: string[] }>;
  foreignCheck(r: Raw): string[];
  busy: boolean;
}

export interface Figures {
  workflow: string;
  enumerated: number;
  forwardPoints: number;
  undoPoints: number;
  otherPoints: string[];
  specs: number;
  childPoints: number;
  triedPoints: Set<string>;
  resumeAfter: Set<string>;
  rollbackAfter: Set<string>;
  refusedAfter: Set<string>;
  /** compensation steps at one of whose points a refused resume was checked */
  refusedSteps: Set<string>;
  invocations: number;
  episodes: number;
  resumed: number;
  rolledBack: number;
  alreadyClean: number;
  kills: { plain: number; alone: number; group: number };
  childOutlivedFlow: number;
  childKilledWithGroup: number;
  /** the longest a killed command took to disappear (group kill: to die; flow alone: to finish), ms */
  childWaitMaxMs: number;
  i5: number;
  /** the kinds of recovery I5 was checked after */
  i5Kinds: Set<string>;
  violations: string[];
  /** the same violations by the phase the lane was in when it saw them */
  byPhase: Record<Phase, string[]>;
  leaks: number;
  /** points the scope keeps (all enumerated ones in the `every` scope) */
  inScope: number;
  wallMs: number;
  misses: number;
  /** recoveries that rightly stopped for the operator (a device that appeared in doubt), played by the test */
  operatorStops: number;
}

interface Wf {
  name: string;
  /** a run can touch zram (scheduling before its steps are known; its zram step is then found from the kinds' specs) */
  zram: boolean;
  forward: Spec[];
  undo: Spec[];
  /** every spec the enumeration found, before the scope */
  all: Spec[];
  kinds: Map<string, string>;
  reference: string[];
  needA: Set<string>;
  needB: Set<string>;
  needC: Set<string>;
  claimed: Set<string>;
  fig: Figures;
  firstStart: number;
  lastEnd: number;
  ready: boolean;
  stall: number;
  /** lanes running a job of this workflow now */
  active: number;
}

/** The cases of a list of points: one per point, two (flow alone; with its command's group) where a command runs (`children`). */
export function specsOf(points: string[], children: Set<string>, dir: Dir): Spec[] {
  const out: Spec[] = [];
  for (const point of points) {
    const m = /^(?:apply|undo):(.+):([a-z-]+)$/.exec(point);
    const step = m?.[1];
    const pos = m ? POS[m[2] as keyof typeof POS] : -1;
    const variants: Variant[] = children.has(point) ? ['alone', 'group'] : ['plain'];
    for (const variant of variants) out.push({ key: `${point}#${variant}`, point, variant, dir, step, pos, idx: out.length, primary: !SECONDARY.test(point) });
  }
  return out;
}

/** After a kill at k, does k's step still (forward: already) have its effect? */
function effectPresent(k: Spec): boolean {
  if (!k.step) return false;
  if (k.dir === 'forward') return k.pos >= POS['command-done'] || (k.pos === POS['command-running'] && k.variant === 'alone');
  return k.pos <= POS['intent-synced'] || (k.pos === POS['command-running'] && k.variant !== 'alone');
}

/** The test switches that kill flow at a case's point (and variant). */
export const envOf = (s: Spec): Record<string, string> => ({
  FLOW_CRASH_AT: s.point,
  ...(s.variant === 'plain' ? {} : { FLOW_CRASH_CHILD: '1' }),
  ...(s.variant === 'group' ? { FLOW_CRASH_GROUP: '1' } : {}),
});

interface Journal {
  events: FlowEvent[];
  phase: string;
  status: Map<string, StepStatus>;
}

export class SigkillMatrix {
  readonly wfs = new Map<string, Wf>();
  private zramHeld = false;
  readonly globalChecks = { count: 0, violations: [] as string[] };
  private episodeCount = 0;
  /** the phase each lane (by index) is in, for the violations it reports */
  private phaseOf = new Map<number, Phase>();
  /** the workflow each busy lane (by index) works on */
  private laneWf = new Map<number, string>();
  private waiters: (() => void)[] = [];
  private finished = false;
  private started = Date.now();
  private lastProgress = 0;
  /** Where the lanes' time goes (lane-milliseconds by activity; CLI invocations by kind), printed with the figures. */
  readonly profile = new Map<string, { n: number; ms: number }>();

  constructor(
    readonly lanes: Lane[],
    readonly baseline: () => Promise<string[]>,
    workflows: { name: string; zram: boolean }[],
    readonly enumerateOnly = false,
    readonly scope: Scope = 'every',
  ) {
    for (const w of workflows) {
      this.wfs.set(w.name, {
        ...w,
        forward: [],
        undo: [],
        all: [],
        kinds: new Map(),
        reference: [],
        needA: new Set(),
        needB: new Set(),
        needC: new Set(),
        claimed: new Set(),
        ready: false,
        stall: 0,
        active: 0,
        firstStart: 0,
        lastEnd: 0,
        fig: {
          workflow: w.name,
          enumerated: 0,
          forwardPoints: 0,
          undoPoints: 0,
          otherPoints: [],
          specs: 0,
          childPoints: 0,
          triedPoints: new Set(),
          inScope: 0,
          resumeAfter: new Set(),
          rollbackAfter: new Set(),
          refusedAfter: new Set(),
          refusedSteps: new Set(),
          invocations: 0,
          episodes: 0,
          resumed: 0,
          rolledBack: 0,
          alreadyClean: 0,
          kills: { plain: 0, alone: 0, group: 0 },
          childOutlivedFlow: 0,
          childKilledWithGroup: 0,
          childWaitMaxMs: 0,
          i5: 0,
          i5Kinds: new Set(),
          violations: [],
          byPhase: { resume: [], rollback: [], undo: [] },
          leaks: 0,
          wallMs: 0,
          misses: 0,
          operatorStops: 0,
        },
      });
    }
  }

  /** Runs everything on every lane; resolves when every point was tried both ways (or nothing can be done). */
  async runAll(): Promise<void> {
    this.started = Date.now();
    try {
      await Promise.all(this.lanes.map((l) => this.laneLoop(l)));
      // quiet: the whole host as before
      await this.globalCheck('end');
    } finally {
      this.finished = true;
      this.notify();
    }
  }

  /** Where violations go: the workflow's list and the phase the lane is in (all phases without a lane). */
  private sink(lane: Lane | undefined, w: Wf): { push(...msgs: string[]): void } {
    const phases = lane ? [this.phaseOf.get(lane.index) ?? 'resume'] : PHASES;
    return {
      push: (...msgs: string[]) => {
        w.fig.violations.push(...msgs);
        for (const p of phases) w.fig.byPhase[p].push(...msgs);
      },
    };
  }

  private setPhase(lane: Lane, p: Phase): void {
    this.phaseOf.set(lane.index, p);
    // a lane leaving a phase may be what a case waits for
    this.notify();
  }

  /** True once nothing more can happen in this phase of this workflow. */
  phaseDone(name: string, p: Phase | 'enumerate'): boolean {
    const w = this.wfs.get(name)!;
    if (this.finished) return true;
    if (!w.ready) return false;
    if (p === 'enumerate') return true;
    const need = p === 'resume' ? w.needA : p === 'rollback' ? w.needB : w.needC;
    // no lane of this workflow in this phase or one before it (a lane only moves on: resume → rollback → undo)
    const upTo = PHASES.slice(0, PHASES.indexOf(p) + 1);
    const busy = this.lanes.some((l) => l.busy && this.laneWf.get(l.index) === name && upTo.includes(this.phaseOf.get(l.index) ?? 'resume'));
    return need.size === 0 && !busy;
  }

  /** Resolves when `phaseDone` (checked after every job of every lane). */
  whenDone(name: string, p: Phase | 'enumerate'): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!this.phaseDone(name, p)) return false;
        resolve();
        return true;
      };
      if (!check()) this.waiters.push(check);
    });
  }

  private notify(): void {
    this.waiters = this.waiters.filter((check) => !(check as () => boolean)());
  }

  private account(what: string, ms: number): void {
    const e = this.profile.get(what) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += ms;
    this.profile.set(what, e);
  }

  private async timed<T>(what: string, f: () => Promise<T>): Promise<T> {
    const t = Date.now();
    try {
      return await f();
    } finally {
      this.account(what, Date.now() - t);
    }
  }

  /** The kernel's objects (hostRaw), timed. */
  private raw(): Promise<Raw> {
    return this.timed('host snapshot (dmsetup info + table, sysfs, mountinfo)', hostRaw);
  }

  /** One line per job: where the workflow stands (a long matrix is not silent). */
  private progress(lane: Lane, w: Wf, what: string): void {
    this.lastProgress = Date.now();
    const f = w.fig;
    const fwd = w.forward.length;
    const prim = w.forward.filter((s) => s.primary).length;
    process.stderr.write(
      `sigkill ${(((Date.now() - this.started) / 1000) | 0).toString().padStart(5)}s lane ${lane.index} ${w.name} ${what}: tried ${f.triedPoints.size}/${f.enumerated} points;` +
        ` resumed after ${fwd - w.needA.size}/${fwd}, rolled back after ${prim - w.needB.size}/${prim}, compensation ${w.undo.length - w.needC.size}/${w.undo.length};` +
        ` ${f.invocations} invocations, ${f.violations.length} violations\n`,
    );
  }

  private async laneLoop(lane: Lane): Promise<void> {
    for (;;) {
      const job = this.nextJob(lane);
      if (job === 'wait') {
        await this.timed('lane idle: no job free (zram held, points claimed)', () => sleep(250));
        continue;
      }
      if (!job) return;
      lane.busy = true;
      const w = job.wf;
      w.active++;
      this.laneWf.set(lane.index, w.name);
      this.phaseOf.set(lane.index, 'resume');
      if (!w.firstStart) w.firstStart = Date.now();
      const started = Date.now();
      const before = this.remaining(w);
      try {
        if (job.kind === 'enumerate') await this.enumerate(lane, w);
        else await this.episode(lane, w, job.kind === 'zram-free');
      } catch (err) {
        this.sink(lane, w).push(`lane ${lane.index} ${w.name}: ${String((err as Error).stack ?? err)}`);
        w.ready = true; // an enumeration that failed leaves nothing to do (the failure is the report)
        await this.cleanupLane(lane, w);
      } finally {
        if (job.zram) this.zramHeld = false;
        lane.ownsZram = false;
        lane.busy = false;
        w.active--;
        w.fig.wallMs += Date.now() - started;
        w.lastEnd = Date.now();
      }
      if (job.kind !== 'enumerate') this.stalled(w, before);
      else if (!this.scoped && [...this.wfs.values()].every((x) => x.ready)) this.applyScope();
      if (!this.lanes.some((l) => l.busy)) await this.globalCheck(`after an episode of ${w.name}`);
      this.progress(lane, w, job.kind === 'enumerate' ? 'enumerated' : 'episode');
      this.notify();
    }
  }

  /** Episodes that try nothing new (a point the predictions never reach): give up on the rest after a few, reported. */
  private stalled(w: Wf, before: number): void {
    if (this.remaining(w) < before) {
      w.stall = 0;
      return;
    }
    if (++w.stall < 4) return;
    const left = [...w.needA].map((k) => `${k} (resume)`).concat([...w.needB].map((k) => `${k} (rollback)`), [...w.needC].map((k) => `${k} (rollback)`));
    this.sink(undefined, w).push(`${w.name}: never reached, given up: ${left.join(', ')}`);
    w.needA.clear();
    w.needB.clear();
    w.needC.clear();
  }

  private remaining(w: Wf): number {
    return w.needA.size + w.needB.size + w.needC.size;
  }

  private nextJob(lane: Lane): { wf: Wf; kind: 'enumerate' | 'episode' | 'zram-free'; zram: boolean } | 'wait' | undefined {
    let waiting = false;
    const order = [...this.wfs.values()].sort((a, b) => Number(a.ready) - Number(b.ready) || this.remaining(b) - this.remaining(a));
    for (const w of order) {
      if (!w.ready) {
        if (w.claimed.has('enumerate')) {
          waiting = true;
          continue;
        }
        if (w.zram && this.zramHeld) {
          waiting = true;
          continue;
        }
        w.claimed.add('enumerate');
        if (w.zram) this.zramHeld = lane.ownsZram = true;
        return { wf: w, kind: 'enumerate', zram: w.zram };
      }
      if (this.enumerateOnly) continue;
      // the `kinds` scope knows which workflow carries a kind once every run was enumerated
      if (this.scope === 'kinds' && !this.scoped) {
        waiting = true;
        continue;
      }
      if (this.remaining(w) === 0) continue;
      const free = [...w.needA, ...w.needB, ...w.needC].some((k) => !w.claimed.has(k));
      if (!free) {
        waiting = true;
        continue;
      }
      if (w.zram && this.zramHeld) {
        if (this.zramFreeStart(w)) return { wf: w, kind: 'zram-free', zram: false };
        waiting = true;
        continue;
      }
      if (w.zram) this.zramHeld = lane.ownsZram = true;
      return { wf: w, kind: 'episode', zram: w.zram };
    }
    return waiting ? 'wait' : undefined;
  }

  /** Before the first step that makes a zram device (from the kinds' specs), or the workflow makes none. */
  private beforeZram(w: Wf, s: Spec): boolean {
    const steps = new Set(stepsMaking('zram', w.kinds));
    const z = w.forward.find((f) => f.step !== undefined && steps.has(f.step));
    return !z || s.idx < z.idx;
  }

  private zramFreeStart(w: Wf): Spec | undefined {
    return w.forward.find((s) => w.needB.has(s.key) && !w.claimed.has(s.key) && this.beforeZram(w, s));
  }

  // ---------------------------------------------------------------- enumeration

  private async enumerate(lane: Lane, w: Wf): Promise<void> {
    const inp = lane.inputs[w.name]!;
    const ids = laneRunIds(lane);
    const r = await this.cli(lane, w, ['run', w.name, ...inp.args], { FLOW_CRASH_AT: 'list' });
    if (r.code !== 0) throw new Error(`flow run ${w.name} (list) exited ${r.code}: ${r.stderr}`);
    const id = [...laneRunIds(lane)].find((x) => !ids.has(x))!;
    const raw = await this.raw();
    w.reference = normalised(scoped(raw, lane, new Set([id])), raw, lane, id);
    const b = await this.cli(lane, w, ['rollback', id], { FLOW_CRASH_AT: 'list' });
    if (b.code !== 0) throw new Error(`flow rollback ${id} (list) exited ${b.code}: ${b.stderr}`);
    await this.expectClean(lane, w, id, 'enumeration rollback');
    const points = (p: Proc) => [...p.stderr.matchAll(/^crash-point (\S+)$/gm)].map((m) => m[1]!);
    const children = new Set([...r.stderr.matchAll(/^crash-child (\S+) /gm), ...b.stderr.matchAll(/^crash-child (\S+) /gm)].map((m) => m[1]!));
    const fwd = points(r).filter((p) => /^(start-|apply:)/.test(p));
    const und = points(b).filter((p) => p.startsWith('undo:'));
    w.fig.otherPoints = [...points(r), ...points(b)].filter((p) => !/^(start-|apply:|undo:)/.test(p));
    const only = process.env.FLOW_LAB_SIGKILL_POINTS ? new RegExp(process.env.FLOW_LAB_SIGKILL_POINTS) : undefined;
    w.forward = specsOf(fwd.filter((p) => !only || only.test(p)), children, 'forward');
    w.undo = specsOf(und.filter((p) => !only || only.test(p)), children, 'undo');
    const doc = this.journal(lane, id);
    for (const d of fold(id, doc.events).defs) w.kinds.set(d.name, d.kind);
    w.fig.forwardPoints = fwd.length;
    w.fig.undoPoints = und.length;
    w.fig.enumerated = fwd.length + und.length;
    w.fig.specs = w.forward.length + w.undo.length;
    w.fig.childPoints = children.size;
    for (const s of w.forward) {
      w.needA.add(s.key);
      if (s.primary) w.needB.add(s.key);
    }
    for (const s of w.undo) w.needC.add(s.key);
    w.claimed.clear();
    w.fig.inScope = new Set([...w.forward, ...w.undo].map((s) => s.point)).size;
    w.all = [...w.forward, ...w.undo];
    w.ready = true;
  }

  /** Set once the scope was applied to every workflow's points (after the last enumeration). */
  private scoped = false;

  /**
   * The `kinds` scope (see Scope): each workflow keeps the primary points of the steps whose
   * kind it carries (KIND_ORDER) and the primary start points; the rest leave its needs.
   */
  private applyScope(): void {
    this.scoped = true;
    if (this.scope === 'every') return;
    const owner = new Map<string, string>();
    const ordered = [...this.wfs.values()].sort((a, b) => KIND_ORDER.indexOf(a.name) - KIND_ORDER.indexOf(b.name));
    for (const w of ordered) for (const s of [...w.forward, ...w.undo]) if (s.step && !owner.has(kindOf(w, s))) owner.set(kindOf(w, s), w.name);
    for (const w of ordered) {
      const keep = (s: Spec) => s.primary && (!s.step || owner.get(kindOf(w, s)) === w.name);
      for (const s of [...w.forward, ...w.undo]) {
        if (keep(s)) continue;
        w.needA.delete(s.key);
        w.needB.delete(s.key);
        w.needC.delete(s.key);
      }
      w.forward = w.forward.filter(keep);
      w.undo = w.undo.filter(keep);
      w.fig.inScope = new Set([...w.forward, ...w.undo].map((s) => s.point)).size;
    }
  }

  /**
   * Every primary (kind, point, variant) that some workflow's run reaches and no workflow
   * tried (empty: the `kinds` scope covered each kind at each point on the real kernel).
   */
  untriedKindPoints(): string[] {
    const tried = new Set<string>();
    for (const w of this.wfs.values()) for (const s of [...w.forward, ...w.undo]) if (w.fig.triedPoints.has(s.point)) tried.add(kindPoint(w, s));
    const out = new Set<string>();
    for (const w of this.wfs.values()) for (const s of w.all) if (s.primary && !tried.has(kindPoint(w, s))) out.add(`${w.name}: ${kindPoint(w, s)}`);
    return [...out];
  }

  // ---------------------------------------------------------------- episodes

  private async episode(lane: Lane, w: Wf, zramFree: boolean): Promise<void> {
    w.fig.episodes++;
    this.episodeCount++;
    const inp = lane.inputs[w.name]!;
    // the first point: one still needing a resume, else one needing a rollback
    let f0 = zramFree ? this.zramFreeStart(w) : w.forward.find((s) => w.needA.has(s.key) && !w.claimed.has(s.key));
    f0 ??= w.forward.find((s) => w.needB.has(s.key) && !w.claimed.has(s.key));
    if (!f0) {
      // only compensation points left: a finished run, rolled back
      return this.undoEpisode(lane, w);
    }
    w.claimed.add(f0.key);
    this.setPhase(lane, !zramFree && w.needA.has(f0.key) ? 'resume' : 'rollback');
    const ctx = new RunCtx();
    const known = laneRunIds(lane);
    const r = await this.cli(lane, w, ['run', w.name, ...inp.args], envOf(f0));
    ctx.id = [...laneRunIds(lane)].find((x) => !known.has(x));
    const k = await this.afterKill(lane, w, ctx, r, f0, 'run');
    if (k !== 'killed') {
      w.claimed.delete(f0.key);
      this.sink(lane, w).push(`${w.name} ${f0.key}: a fresh run did not die there (${k})`);
      return this.cleanupLane(lane, w);
    }
    let last = f0;
    ctx.lastKill = f0;
    if (!existsSync(join(lane.stateDir, 'runs', `${ctx.id}.json`))) return this.notRecorded(lane, w, ctx, f0);
    // forward: resume while the point still needs one (chained), else roll back
    for (;;) {
      const wantResume = !zramFree && w.needA.has(last.key);
      if (!wantResume) break;
      w.needA.delete(last.key);
      w.fig.resumeAfter.add(last.key);
      const next = this.nextForward(w, last);
      if (next) w.claimed.add(next.key);
      const p = await this.recover(lane, w, ctx, ['resume', ctx.id!], next ? envOf(next) : {});
      const res = next ? await this.afterKill(lane, w, ctx, p, next, 'resume') : p.code === 0 ? 'completed' : 'failed';
      if (res === 'killed') {
        last = next!;
        ctx.lastKill = last;
        continue;
      }
      if (next) {
        w.claimed.delete(next.key);
        w.fig.misses++;
      }
      if (res !== 'completed') {
        this.sink(lane, w).push(`${w.name} resume after ${last.key} failed (exit ${p.code}): ${p.stderr.slice(0, 400)}`);
        return this.cleanupLane(lane, w);
      }
      ctx.ingest(p.stdout);
      await this.expectDone(lane, w, ctx, p, `resume after ${last.key}`);
      w.fig.resumed++;
      ctx.lastKill = undefined;
      if (this.i5Due(w, 'resume')) await this.checkI5(lane, w, ctx, 'resume');
      return this.rollbackChain(lane, w, ctx, undefined);
    }
    w.claimed.delete(last.key);
    return this.rollbackChain(lane, w, ctx, last);
  }

  /** A finished run rolled back with kills at compensation points. */
  private async undoEpisode(lane: Lane, w: Wf): Promise<void> {
    this.setPhase(lane, 'undo');
    const inp = lane.inputs[w.name]!;
    const ctx = new RunCtx();
    const known = laneRunIds(lane);
    const r = await this.cli(lane, w, ['run', w.name, ...inp.args]);
    ctx.id = [...laneRunIds(lane)].find((x) => !known.has(x));
    if (r.code !== 0 || !ctx.id) {
      this.sink(lane, w).push(`${w.name}: run exited ${r.code}: ${r.stderr.slice(0, 400)}`);
      return this.cleanupLane(lane, w);
    }
    ctx.ingest(r.stdout);
    await this.expectDone(lane, w, ctx, r, 'uninterrupted run');
    return this.rollbackChain(lane, w, ctx, undefined);
  }

  /**
   * Rolls back (after a kill at forward point `from`, or a finished run), each rollback
   * killed at the next compensation point it will reach; after each such kill `resume` must refuse.
   */
  private async rollbackChain(lane: Lane, w: Wf, ctx: RunCtx, from: Spec | undefined): Promise<void> {
    this.setPhase(lane, from ? 'rollback' : 'undo');
    if (from) {
      w.needB.delete(from.key);
      w.fig.rollbackAfter.add(from.key);
    }
    let last: Spec | undefined;
    for (;;) {
      // never `last` itself: a rollback killed again where the previous one died would try nothing new
      const next = this.nextUndo(lane, w, ctx, last);
      if (next) w.claimed.add(next.key);
      const p = await this.recover(lane, w, ctx, ['rollback', ctx.id!], next ? envOf(next) : {});
      const res = next ? await this.afterKill(lane, w, ctx, p, next, 'rollback') : p.code === 0 ? 'completed' : 'failed';
      if (last) w.claimed.delete(last.key);
      if (res === 'killed') {
        if (last) {
          w.needC.delete(last.key);
          w.fig.rollbackAfter.add(last.key);
        }
        last = next!;
        // ours until the next rollback recovers it (another lane must not try it meanwhile)
        w.claimed.add(last.key);
        ctx.lastKill = last;
        this.setPhase(lane, 'undo');
        // The refusal (runner.ts resume) reads only the folded journal's phase, 'rollback' at
        // every point of a rollback: checked once per compensation step, at the first primary
        // point of it killed (at every primary point it was ~1 invocation in 10 of the matrix
        // and proved the same thing each time)
        if (last.primary && !w.fig.refusedSteps.has(last.step!)) await this.expectRefusal(lane, w, ctx, last);
        continue;
      }
      if (next) {
        w.claimed.delete(next.key);
        w.fig.misses++;
      }
      if (res !== 'completed') {
        this.sink(lane, w).push(`${w.name} rollback after ${last?.key ?? from?.key ?? 'done'} failed (exit ${p.code}): ${p.stderr.slice(0, 400)}`);
        return this.cleanupLane(lane, w);
      }
      if (last) {
        w.needC.delete(last.key);
        w.fig.rollbackAfter.add(last.key);
      }
      ctx.ingest(p.stdout);
      await this.expectRolledBack(lane, w, ctx, p, `rollback after ${last?.key ?? from?.key ?? 'a finished run'}`);
      w.fig.rolledBack++;
      if (this.i5Due(w, 'rollback')) await this.checkI5(lane, w, ctx, 'rollback');
      return;
    }
  }

  /** Killed before the run was recorded: resume and rollback both find no run, and the host holds nothing of it. */
  private async notRecorded(lane: Lane, w: Wf, ctx: RunCtx, f0: Spec): Promise<void> {
    const how = w.needA.has(f0.key) ? 'resume' : 'rollback';
    const temp = readdirSync(join(lane.stateDir, 'runs')).find((n) => n.endsWith('.tmp'));
    const id = ctx.id ?? /^\.([a-z2-9]{8})\.json/.exec(temp ?? '')?.[1];
    if (!id) {
      this.sink(lane, w).push(`${w.name} ${f0.key}: no run id and no temp file`);
      return;
    }
    const p = await this.cli(lane, w, [how, id]);
    if (p.code === 0 || !/no run/.test(p.stderr)) this.sink(lane, w).push(`${w.name} ${f0.key}: ${how} of an unrecorded run: exit ${p.code} ${p.stderr.slice(0, 200)}`);
    (how === 'resume' ? w.needA : w.needB).delete(f0.key);
    (how === 'resume' ? w.fig.resumeAfter : w.fig.rollbackAfter).add(f0.key);
    w.claimed.delete(f0.key);
    w.fig.alreadyClean++;
    const raw = await this.raw();
    const s = scoped(raw, lane, new Set([id]));
    if (!isEmpty(s) || lane.inputs[w.name]!.created.some((f) => existsSync(f))) {
      this.sink(lane, w).push(`${w.name} ${f0.key}: not recorded but the host holds ${JSON.stringify(s)}`);
      w.fig.leaks++;
    }
    // the temp file a torn first write left is the only thing in the state folder (I1)
    rmSync(join(lane.stateDir, 'runs', temp ?? '-'), { force: true });
  }

  private nextForward(w: Wf, k: Spec): Spec | undefined {
    const same = !effectPresent(k) || ALWAYS_AGAIN.has(w.kinds.get(k.step ?? '') ?? '');
    const ok = (c: Spec) => c.idx > k.idx && !w.claimed.has(c.key) && (c.step !== k.step || !k.step || same);
    return w.forward.find((c) => ok(c) && w.needA.has(c.key)) ?? w.forward.find((c) => ok(c) && w.needB.has(c.key));
  }

  private nextUndo(lane: Lane, w: Wf, ctx: RunCtx, last?: Spec): Spec | undefined {
    const j = this.journal(lane, ctx.id!);
    const present = (step: string) => (ctx.lastKill?.step === step ? effectPresent(ctx.lastKill) : j.status.get(step) === 'applied');
    return w.undo.find((u) => u !== last && w.needC.has(u.key) && !w.claimed.has(u.key) && present(u.step!));
  }

  /**
   * `flow resume` / `flow rollback` after a kill. Where flow rightly stops for the operator
   * (exit 3: a loop or zram device appeared while its step was in doubt, a kill between the
   * command and the outcome's fsync, and flow cannot tell it from another program's; README,
   * "How recovery works"), the test plays the operator: it removes the devices flow names
   * (this lane's own: no other lane binds its images, and one lane at a time reaches a zram
   * step), checking each one's diskseq first, runs `flow resolve --as absent`, then the same
   * command again. A stop after a kill anywhere else is left to the caller: a failure.
   */
  private async recover(lane: Lane, w: Wf, ctx: RunCtx, args: string[], env: Record<string, string>): Promise<Proc> {
    const p = await this.cli(lane, w, args, env);
    if (p.code !== 3 || !ctx.lastKill || !operatorStopRight(ctx.lastKill.point, ctx.lastKill.variant, w.kinds)) return p;
    const step = /needs an operator at step (\S+):/.exec(p.stderr)?.[1];
    const devices = new Map([...p.stderr.matchAll(/# only if \/dev\/(loop|zram)(\d+) \(diskseq (\d+)\) is this run's$/gm)].map((m) => [m[0], m]));
    if (!step || devices.size === 0) return p;
    for (const [, kind, n, seq] of devices.values()) {
      const name = `${kind}${n}`;
      const now = existsSync(`/sys/block/${name}/diskseq`) ? readFileSync(`/sys/block/${name}/diskseq`, 'utf8').trim() : '';
      if (now !== seq) continue;
      if (kind === 'loop') await must(['losetup', '-d', `/dev/${name}`]);
      else {
        writeFileSync(`/sys/block/${name}/reset`, '1');
        writeFileSync('/sys/class/zram-control/hot_remove', n!);
      }
    }
    const r = await this.cli(lane, w, ['resolve', ctx.id!, '--step', step, '--as', 'absent']);
    if (r.code !== 0) {
      this.sink(lane, w).push(`${w.name} after ${ctx.lastKill.key}: flow resolve --as absent exited ${r.code}: ${r.stderr.slice(0, 300)}`);
      return p;
    }
    w.fig.operatorStops++;
    const again = await this.cli(lane, w, args, env);
    return { ...again, stdout: p.stdout + again.stdout };
  }

  // ---------------------------------------------------------------- one invocation

  private async cli(lane: Lane, w: Wf, args: string[], env: Record<string, string> = {}): Promise<Proc> {
    w.fig.invocations++;
    const p = await flowCli(lane, args, env);
    const crash = env.FLOW_CRASH_AT && env.FLOW_CRASH_AT !== 'list';
    const how = p.signal === 'SIGKILL' ? 'killed at its point' : crash ? `crash point not reached, exit ${p.code}` : `exit ${p.code}`;
    this.account(`cli ${args[0]}${env.FLOW_CRASH_AT === 'list' ? ' (list points)' : ''}: ${how}`, p.ms);
    if (Date.now() - this.lastProgress > 30_000) this.progress(lane, w, `${args[0]}`);
    if (process.env.FLOW_LAB_SIGKILL_LOG) {
      const kill = /^crash-kill (.*)$/m.exec(p.stderr)?.[1];
      process.stderr.write(`[lane ${lane.index} ${w.name} ${(p.ms / 1000).toFixed(1)}s] ${args[0]} ${env.FLOW_CRASH_AT ?? ''}${env.FLOW_CRASH_GROUP ? ' group' : env.FLOW_CRASH_CHILD ? ' alone' : ''} -> ${kill ? `killed ${kill}` : `exit ${p.code}`}\n`);
    }
    return p;
  }

  /** Checks a process that should have died at `s`; on a kill, the invariants of the crashed state. */
  private async afterKill(lane: Lane, w: Wf, ctx: RunCtx, p: Proc, s: Spec, what: string): Promise<'killed' | 'completed' | 'failed'> {
    if (p.signal !== 'SIGKILL') return p.code === 0 ? 'completed' : 'failed';
    const v = this.sink(lane, w);
    const where = `${w.name} ${what} killed at ${s.key}`;
    const m = /^crash-kill (\S+) (group|flow-alone) (?:child (\d+) (\S+) ?(\S*)|no-child)/m.exec(p.stderr);
    if (/^crash-no-child/m.test(p.stderr) || !m || m[1] !== s.point) {
      v.push(`${where}: not killed there: ${p.stderr.slice(-300)}`);
    } else if (s.variant === 'group' && m[2] !== 'group') v.push(`${where}: the group kill found no child`);
    else if (s.variant === 'alone' && !m[3]) v.push(`${where}: no child was running`);
    w.fig.triedPoints.add(s.point);
    w.fig.kills[s.variant]++;
    w.claimed.delete(s.key);
    if (m?.[3]) {
      const pid = Number(m[3]);
      // Both waits end as soon as the command is gone; the 60 s are a ceiling a passing run
      // never pays (the figures print the longest wait seen). Group kill: a command in
      // uninterruptible sleep (umount or mkfs syncing through loop/dm) dies only when it
      // leaves the kernel. Flow alone: the orphan must finish its work on its own (mkfs,
      // resize2fs under emulation on a loaded host take seconds).
      if (s.variant === 'alone' && !gone(pid)) w.fig.childOutlivedFlow++;
      const waited = await this.timed('wait for the killed command to go', () => waitGone(pid, 60_000));
      w.fig.childWaitMaxMs = Math.max(w.fig.childWaitMaxMs, waited);
      if (s.variant === 'group') {
        if (gone(pid)) w.fig.childKilledWithGroup++;
        else v.push(`${where}: the child ${pid} (${m[4]}) survived the group kill for 60 s`);
      } else if (!gone(pid)) {
        // an orphan that never finishes holds the run's lock forever: a violation, whatever the command
        v.push(`${where}: the orphaned child ${pid} (${m[4]} ${m[5] ?? ''}) did not finish in 60 s; killed`);
      }
      if (!gone(pid)) {
        process.kill(pid, 'SIGKILL');
        await waitGone(pid, 5_000);
      }
    }
    ctx.ingest(p.stdout);
    if (!ctx.id) return 'killed';
    await this.crashedChecks(lane, w, ctx, where);
    return 'killed';
  }

  private journal(lane: Lane, id: string): Journal {
    const t = Date.now();
    try {
      return this.readJournal(lane, id);
    } finally {
      this.account('journal read + fold (in the test process)', Date.now() - t);
    }
  }

  private readJournal(lane: Lane, id: string): Journal {
    const file = join(lane.stateDir, 'runs', `${id}.json`);
    const doc = parseRunFile(readFileSync(file), id, file).doc;
    const f = fold(id, doc.events);
    return { events: [...doc.events], phase: f.phase, status: new Map(f.state.steps.map((s) => [s.name, s.status])) };
  }

  /** I1, I2, I3, I7 in a crashed state. */
  private async crashedChecks(lane: Lane, w: Wf, ctx: RunCtx, where: string): Promise<void> {
    const v = this.sink(lane, w);
    const file = join(lane.stateDir, 'runs', `${ctx.id}.json`);
    if (!existsSync(file)) return; // not recorded (start-written): checked by notRecorded
    let j: Journal;
    try {
      j = this.journal(lane, ctx.id!);
    } catch (err) {
      v.push(`${where}: I1 the journal does not read back: ${String(err)}`);
      return;
    }
    v.push(...ctx.checkReported(j.events).map((x) => `${where}: I2 ${x}`));
    const intended = new Set(j.events.filter((e) => e.type === 'StepIntended').map((e) => (e as { step: string }).step));
    const raw = await this.raw();
    const s = scoped(raw, lane, new Set([ctx.id!]));
    // which step may have made each object: from the kinds' specs (what `flow show` draws for each kind)
    const need = (steps: string[], what: string) => {
      if (!steps.some((st) => intended.has(st))) v.push(`${where}: I3 ${what} exists without a durable intent for ${steps.join(' or ') || '(no step of the run makes one)'}`);
    };
    for (const l of s.loops) need(stepsMaking('loop', w.kinds), `loop ${l.name}`);
    for (const d of s.dm) need([/^FLOW-[a-z2-9]{8}-(.+)$/.exec(d.uuid)?.[1] ?? '?'], `dm ${d.name}`);
    for (const z of s.zram) need(stepsMaking('zram', w.kinds), `zram ${z.name}`);
    for (const m of s.mounts) need(stepsMaking('mountpoint', w.kinds), `mount ${m.target}`);
    if (s.files.length) need(stepsOfKind('dir.make', w.kinds), `${s.files.join(', ')}`);
    const created = lane.inputs[w.name]!.created[0];
    if (created && stepsMaking('file', w.kinds).length && existsSync(created)) need(stepsMaking('file', w.kinds), 'the backing file');
    v.push(...lane.foreignCheck(raw).map((x) => `${where}: I7 ${x}`));
  }

  private async expectDone(lane: Lane, w: Wf, ctx: RunCtx, p: Proc, where: string): Promise<void> {
    const v = this.sink(lane, w);
    if (!p.stdout.includes(`run ${ctx.id}: done`)) v.push(`${w.name} ${where}: no "done" line: ${p.stdout.slice(-200)}`);
    const j = this.journal(lane, ctx.id!);
    if (j.phase !== 'done') v.push(`${w.name} ${where}: journal phase ${j.phase}`);
    v.push(...ctx.checkReported(j.events).map((x) => `${w.name} ${where}: I2 ${x}`));
    v.push(...this.staleTemps(lane, ctx.id!).map((t) => `${w.name} ${where}: I1 a stale temp file is left beside the journal: ${t}`));
    const raw = await this.raw();
    const got = normalised(scoped(raw, lane, new Set([ctx.id!])), raw, lane, ctx.id!);
    if (got.join('\n') !== w.reference.join('\n')) {
      v.push(`${w.name} ${where}: I4 the finished run differs from an uninterrupted one:\n  got  ${got.join('\n       ')}\n  want ${w.reference.join('\n       ')}`);
    }
    v.push(...lane.foreignCheck(raw).map((x) => `${w.name} ${where}: I7 ${x}`));
  }

  private async expectRolledBack(lane: Lane, w: Wf, ctx: RunCtx, p: Proc, where: string): Promise<void> {
    const v = this.sink(lane, w);
    if (!p.stdout.includes(`run ${ctx.id}: rolled-back`)) v.push(`${w.name} ${where}: no "rolled-back" line: ${p.stdout.slice(-200)}`);
    const j = this.journal(lane, ctx.id!);
    if (j.phase !== 'rolled-back') v.push(`${w.name} ${where}: journal phase ${j.phase}`);
    v.push(...ctx.checkReported(j.events).map((x) => `${w.name} ${where}: I2 ${x}`));
    v.push(...this.staleTemps(lane, ctx.id!).map((t) => `${w.name} ${where}: I1 a stale temp file is left beside the journal: ${t}`));
    await this.expectClean(lane, w, ctx.id!, where);
  }

  private async expectClean(lane: Lane, w: Wf, id: string, where: string): Promise<void> {
    const raw = await this.raw();
    const s = scoped(raw, lane, new Set([id]));
    const left = [...normalised(s, raw, lane, id), ...lane.inputs[w.name]!.created.filter((f) => existsSync(f)).map((f) => `file ${f}`)];
    if (left.length) {
      this.sink(lane, w).push(`${w.name} ${where}: I4 left behind: ${left.join('; ')}`);
      w.fig.leaks += left.length;
    }
    this.sink(lane, w).push(...lane.foreignCheck(raw).map((x) => `${w.name} ${where}: I7 ${x}`));
  }

  /** Temp files of this run's journal (a killed writer's, `.<id>.json.<pid>.<n>.tmp`): a finished recovery removes them. */
  private staleTemps(lane: Lane, id: string): string[] {
    return readdirSync(join(lane.stateDir, 'runs')).filter((n) => n.startsWith(`.${id}.json.`) && n.endsWith('.tmp'));
  }

  private async view(lane: Lane, id: string): Promise<string> {
    const raw = await this.raw();
    return normalised(scoped(raw, lane, new Set([id])), raw, lane, id).join('\n');
  }

  private async expectRefusal(lane: Lane, w: Wf, ctx: RunCtx, u: Spec): Promise<void> {
    const before = await this.view(lane, ctx.id!);
    const p = await this.cli(lane, w, ['resume', ctx.id!]);
    if (p.code !== 2 || !p.stderr.includes('is being rolled back')) this.sink(lane, w).push(`${w.name} resume after ${u.key}: expected a refusal (exit 2), got ${p.code}: ${p.stderr.slice(0, 300)}`);
    if (before !== (await this.view(lane, ctx.id!))) this.sink(lane, w).push(`${w.name} resume after ${u.key}: the refused resume changed the host`);
    w.fig.refusedAfter.add(u.key);
    w.fig.refusedSteps.add(u.step!);
  }

  /**
   * When to check I5 after a finished recovery: the first resume and the first rollback of
   * each workflow, then every 15th episode. (Every 5th episode made I5 about 1 invocation in
   * 10 of the matrix; a second recovery of a finished run takes one code path whatever point
   * the first recovered from, probes finding every step applied or absent, and the
   * in-process crash matrix checks I5 after every point.)
   */
  private i5Due(w: Wf, how: 'resume' | 'rollback'): boolean {
    return !w.fig.i5Kinds.has(how) || this.episodeCount % 15 === 0;
  }

  /** I5: recovering a finished recovery again runs no command that changes anything. */
  private async checkI5(lane: Lane, w: Wf, ctx: RunCtx, how: 'resume' | 'rollback'): Promise<void> {
    const before = await this.view(lane, ctx.id!);
    const p = await this.cli(lane, w, [how, ctx.id!, '--verbose']);
    const cmds = [...p.stderr.matchAll(/^flow: \$ (\S+) ?(\S*)/gm)].map((m) => `${m[1]} ${m[2]}`);
    const changing = cmds.filter((c) => !/^(dmsetup (info|table|status|targets|version)|losetup -J|blkid|blockdev) ?/.test(c));
    if (p.code !== 0 || changing.length || before !== (await this.view(lane, ctx.id!))) {
      this.sink(lane, w).push(`${w.name} I5 a second ${how} of ${ctx.id}: exit ${p.code}, commands ${changing.join(', ') || '-'}`);
    }
    w.fig.i5++;
    w.fig.i5Kinds.add(how);
  }

  /** After a failure: rolls back every run of the lane that is not rolled back, and counts what stays. */
  private async cleanupLane(lane: Lane, w: Wf): Promise<void> {
    for (const id of laneRunIds(lane)) {
      let phase = '';
      try {
        phase = this.journal(lane, id).phase;
      } catch {
        continue;
      }
      if (phase === 'rolled-back') continue;
      for (let i = 0; i < 100; i++) {
        const p = await flowCli(lane, ['rollback', id]);
        if (p.code !== 4) break;
        await sleep(500);
      }
      await this.expectClean(lane, w, id, `cleanup of ${id}`);
    }
  }

  private async globalCheck(when: string): Promise<void> {
    this.globalChecks.count++;
    const now = globalView(await this.raw());
    const want = await this.baseline();
    if (now.join('\n') !== want.join('\n')) {
      const extra = now.filter((x) => !want.includes(x));
      const missing = want.filter((x) => !now.includes(x));
      this.globalChecks.violations.push(`${when}: the host differs from before: extra ${extra.join('; ') || '-'}; missing ${missing.join('; ') || '-'}`);
    }
  }
}

/** One run across its invocations: its id, the last kill, and what the CLI printed about it. */
class RunCtx {
  id?: string;
  lastKill?: Spec;
  private reported = new Map<string, number>();

  /** Records the step lines a CLI invocation printed. */
  ingest(stdout: string): void {
    for (const l of stdout.split('\n')) {
      const m = /^ {2}(done|FAILED|probed|cleaned|undone|skipped) +(\S+)(?: +(\S+))?/.exec(l);
      if (!m) continue;
      const key = m[1] === 'probed' ? `probed ${m[2]} ${m[3]}` : `${m[1]} ${m[2]}`;
      this.reported.set(key, (this.reported.get(key) ?? 0) + 1);
    }
  }

  /** I2: each printed line is backed by as many events in the journal. */
  checkReported(events: readonly FlowEvent[]): string[] {
    const have = new Map<string, number>();
    for (const e of events) {
      const step = (e as { step?: string }).step;
      const key =
        e.type === 'StepSucceeded' ? `done ${step}` : e.type === 'StepProbed' ? `probed ${step} ${(e as { found: string }).found}` : e.type === 'StepCleaned' ? `cleaned ${step}` : e.type === 'UndoSucceeded' ? `undone ${step}` : e.type === 'UndoSkipped' ? `skipped ${step}` : e.type === 'StepFailed' || e.type === 'UndoFailed' ? `FAILED ${step}` : undefined;
      if (key) have.set(key, (have.get(key) ?? 0) + 1);
    }
    const out: string[] = [];
    for (const [k, n] of this.reported) if ((have.get(k) ?? 0) < n) out.push(`printed "${k}" ${n}x, the journal has ${have.get(k) ?? 0}`);
    return out;
  }
}
