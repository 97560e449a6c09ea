/**
 * Foreign files and directories in the crash matrix: at every named point of every
 * file.create and dir.make step and of their compensations where the step's path is
 * free, another process makes a file (the run's size, its own bytes) or an empty
 * directory there. Then the run goes on, or crashes there (process crash, power cut) and
 * is resumed or rolled back. Whatever happens, the foreign object survives byte for
 * byte, the run ends done or rolled back (never waiting for an operator: flow can always
 * tell its own file from a foreign one at these points), and the rest of the host is
 * exactly as an undisturbed run (or rollback) leaves it.
 * (Kept apart from matrix.ts: foreign devices are planted by their own module.)
 */
import { isDeepStrictEqual } from 'node:util';
import { CrashSignal } from '../../journal/durability.js';
import type { StepDef } from '../../machines/types.js';
import { applyPoints, undoPoints } from '../engine/crash-points.js';
import { StepFailedError } from '../errors.js';
import { ID } from './operator.js';
import { startRun, stepsIn, type Subject } from './subject.js';
import { SimWorld as World } from './world.js';

export type Disturbance = 'continue' | 'process-resume' | 'process-rollback' | 'power-resume' | 'power-rollback';
export const DISTURBANCES: Disturbance[] = ['continue', 'process-resume', 'process-rollback', 'power-resume', 'power-rollback'];

/** Something another process makes at a path flow plans to create. */
export interface Plant {
  step: string;
  kind: 'file' | 'dir';
  path: string;
  /** file: its size (the run's own) */
  size?: number;
}

export interface ForeignFigures {
  workflow: string;
  planted: number;
  /** points where the path was not free (flow's own object was there): nothing planted */
  notFree: number;
  outcomes: Record<string, number>;
  violations: string[];
}

const MiB = 1024 * 1024;
const BYTES = Buffer.from('made by another process; flow must not touch this\n');

function endState(w: World): { kernel: unknown; tree: Record<string, unknown> } {
  const k = w.kernel.snapshotState();
  return { kernel: { ...k, loops: k.loops.map(({ backingIno: _i, backingDev: _d, ...l }) => l) }, tree: w.tree() };
}

/** Makes the foreign object, durably; false when the path is taken. */
function plant(w: World, p: Plant): boolean {
  if (w.fs.snapshotTree()[p.path]) return false;
  if (p.kind === 'dir') {
    w.fs.putDir(p.path, { durable: true, mode: 0o755 });
    return true;
  }
  const content = Buffer.alloc(Math.min(p.size ?? MiB, 4 * MiB));
  for (let o = 0; o + BYTES.length <= content.length; o += 4096) BYTES.copy(content, o);
  w.fs.putFile(p.path, content, { durable: true, mode: 0o644 });
  return true;
}

/** The paths of the run's file.create and dir.make steps: what may be planted, and where. */
function plantsOf(defs: StepDef[]): { plants: Plant[]; steps: string[] } {
  const plants: Plant[] = [];
  const steps: string[] = [];
  for (const d of defs) {
    if (d.kind === 'file.create') {
      const a = d.args({}) as { path: string; size: number };
      plants.push({ step: d.name, kind: 'file', path: a.path, size: a.size });
      steps.push(d.name);
    }
    if (d.kind === 'dir.make') {
      const a = d.args({}) as { dirs: string[] };
      // the top directory (the rest is made inside it) and the leaf (the mount point itself)
      for (const p of new Set([a.dirs[0]!, a.dirs[a.dirs.length - 1]!])) plants.push({ step: d.name, kind: 'dir', path: p });
      steps.push(d.name);
    }
  }
  return { plants, steps: [...new Set(steps)] };
}

export class ForeignMatrix {
  readonly figures: ForeignFigures;
  private base!: World;
  private baseline!: ReturnType<typeof endState>;
  private reference!: ReturnType<typeof endState>;

  constructor(private readonly sc: Subject) {
    this.figures = { workflow: sc.workflow, planted: 0, notFree: 0, outcomes: {}, violations: [] };
  }

  /** The plants and the points of their steps (forward and compensation). */
  async prepare(): Promise<{ plants: Plant[]; forward: string[]; undo: string[] }> {
    this.base = World.create();
    await this.sc.setup(this.base);
    this.baseline = endState(this.base);
    const ref = this.base.clone();
    await startRun(ref, this.sc, ID);
    this.reference = endState(ref);
    const defs = await stepsIn(this.base, this.sc, ID);
    const { plants } = plantsOf(defs);
    const mine = (p: string) => plants.some((x) => p.split(':')[1] === x.step);
    return { plants, forward: applyPoints(defs).filter(mine), undo: undoPoints(defs).filter(mine) };
  }

  private bad(where: string, what: string): void {
    this.figures.violations.push(`${where}: ${what}`);
  }

  /** At `point` of a forward run (or of the rollback of a finished one), `p` appears; then `how`. */
  async run(phase: 'forward' | 'undo', point: string, p: Plant, how: Disturbance): Promise<void> {
    if (p.step !== point.split(':')[1]) return;
    const where = `${this.sc.workflow} ${point} foreign ${p.kind} ${p.path} ${how}`;
    const w = this.base.clone();
    if (phase === 'undo') await startRun(w, this.sc, ID);
    let planted: Record<string, unknown> | undefined;
    let free = true;
    w.atPoint = (at) => {
      if (at !== point || planted || !free) return;
      const before = w.fs.snapshotTree();
      free = plant(w, p);
      if (!free) return;
      // the object and any parent the other process had to make with it
      planted = Object.fromEntries(Object.entries(w.fs.snapshotTree()).filter(([k]) => !(k in before)));
      if (how !== 'continue') throw new CrashSignal(at);
    };
    const first = phase === 'forward' ? () => startRun(w, this.sc, ID) : async () => (await w.runner()).rollback(ID);
    let res = await settle(first);
    w.atPoint = undefined;
    if (!free) {
      this.figures.notFree++;
      return;
    }
    if (!planted) return this.bad(where, 'point never reached');
    this.figures.planted++;
    if (how !== 'continue') {
      if (!(res instanceof CrashSignal)) return this.bad(where, `did not crash: ${String(res)}`);
      if (how.startsWith('power')) {
        await w.powerCut();
        await this.sc.afterBoot(w);
      } else w.processCrash();
      const r = await w.runner();
      res = await settle(() => (how.endsWith('resume') && phase === 'forward' ? r.resume(ID) : r.rollback(ID)));
    }
    // a run that found the foreign object in its way fails its step and rolls back (exit 1)
    if (res instanceof Error && !(res instanceof StepFailedError)) return this.bad(where, `failed: ${String(res)}`);
    const ended = res instanceof StepFailedError ? 'rolled back after the step failed' : (res as { phase: string }).phase;
    this.figures.outcomes[ended] = (this.figures.outcomes[ended] ?? 0) + 1;
    if (!['done', 'rolled-back', 'rolled back after the step failed'].includes(ended)) return this.bad(where, `ended ${ended}`);
    const check = (label: string, want: { kernel: unknown; tree: Record<string, unknown> }) => {
      const got = endState(w);
      for (const [k, v] of Object.entries(planted!)) if (!isDeepStrictEqual(got.tree[k], v)) this.bad(where, `${label}: foreign ${k} did not survive: ${JSON.stringify(got.tree[k])} instead of ${JSON.stringify(v)}`);
      if (!isDeepStrictEqual(got.kernel, want.kernel)) this.bad(where, `${label}: kernel state differs: ${JSON.stringify(got.kernel)}`);
      const tree = { ...want.tree, ...planted };
      if (!isDeepStrictEqual(got.tree, tree)) this.bad(where, `${label}: files differ: ${JSON.stringify(got.tree)} vs ${JSON.stringify(tree)}`);
    };
    if (ended === 'done') check('done', this.reference);
    // and a rollback afterwards (a no-op when the run is rolled back already)
    const back = await settle(async () => (await w.runner()).rollback(ID));
    if (back instanceof Error || back.phase !== 'rolled-back') return this.bad(where, `final rollback: ${back instanceof Error ? String(back) : back.phase}`);
    check('rolled back', this.baseline);
  }
}

/** The cases runAll runs: each plant × each disturbance × each point (forward and undo). */
export function foreignFileCases(prep: { plants: Plant[]; forward: string[]; undo: string[] }): number {
  return prep.plants.length * DISTURBANCES.length * (prep.forward.length + prep.undo.length);
}

/** Every plant × disturbance × point after prepare(); `tick` after each case. */
export async function runForeignFiles(m: ForeignMatrix, prep: { plants: Plant[]; forward: string[]; undo: string[] }, tick: () => void = () => undefined): Promise<ForeignFigures> {
  for (const p of prep.plants) {
    for (const how of DISTURBANCES) {
      for (const [phase, points] of [['forward', prep.forward], ['undo', prep.undo]] as const) {
        for (const point of points) {
          // a case that throws is a finding, and the matrix goes on
          await m.run(phase, point, p, how).catch((err: unknown) => m.figures.violations.push(`${m.figures.workflow} ${point} foreign ${p.kind} ${p.path} ${how}: failed: ${String(err)}`));
          tick();
        }
      }
    }
  }
  return m.figures;
}

async function settle<T>(f: () => Promise<T>): Promise<T | Error> {
  try {
    return await f();
  } catch (err) {
    return err as Error;
  }
}
