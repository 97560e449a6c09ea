/**
 * Foreign devices made IN the window of flow's device steps (issue 10, item 4): for every
 * loop.attach and zram.add step and every named point of it, the run crashes there (process
 * crash and power cut), then another program makes a device exactly like the run's (a zram
 * device of the same size and algorithm; a loop on the same file with the same read-only,
 * offset and sizelimit) before flow recovers. Resume and rollback must leave that device
 * exactly as it was: never adopted, resized, cleaned, detached or removed. Where flow cannot
 * tell the two apart it stops for the operator (only in process crashes, only once its
 * intent is durable and before its outcome is); the test's operator removes only the
 * device the run made, and recovery must then be exact.
 */
import { isDeepStrictEqual } from 'node:util';
import { CrashSignal } from '../../journal/durability.js';
import type { Json, StepDef, StepKind } from '../../machines/types.js';
import { STEP_POINTS } from '../engine/crash-points.js';
import type { LoopInfo, ZramInfo } from '../kernel/types.js';
import { KIND_SPECS } from '../steps/kinds/index.js';
import { checkStops, crash, endState, recover, type EndState, type Mode, type Recovery } from './matrix.js';
import { ID, recoverWithOperator, type OperatorStop } from './operator.js';
import { startRun, stepsIn, type Subject } from './subject.js';
import { SimWorld as World } from './world.js';

export interface ForeignFigures {
  workflow: string;
  runs: number;
  operatorStops: number;
  violations: string[];
  steps: string[];
}

/** A device another program made in the window, as it looked right after it was made. */
type Planted = { kind: 'loop'; info: LoopInfo } | { kind: 'zram'; info: ZramInfo };

/** The kinds whose devices carry no mark of the run (their specs' `unmarked`): loop.attach, zram.add. */
const isDeviceStep = (d: StepDef) => KIND_SPECS[d.kind].unmarked !== undefined;

/**
 * Once the intent may be in the journal (a process crash keeps an appended record) and
 * before the outcome is: any new device of the kind is a candidate, for every such kind.
 */
const CANDIDATE_POINTS = STEP_POINTS.slice(STEP_POINTS.indexOf('intent-appended'), STEP_POINTS.indexOf('outcome-appended') + 1);
export const foreignWindow = (kind: string): readonly string[] => (Object.hasOwn(KIND_SPECS, kind) && KIND_SPECS[kind as StepKind].unmarked ? CANDIDATE_POINTS : []);

/** Makes a device exactly like the one the step makes, as another program would. */
export async function plantForeignDevice(w: World, kind: string, args: Json): Promise<Planted> {
  if (kind === 'zram.add') {
    const id = await w.kernel.zram.add();
    await w.kernel.zram.configure(id, { disksize: args.disksize as number, ...(typeof args.algorithm === 'string' ? { algorithm: args.algorithm } : {}) });
    return { kind: 'zram', info: (await w.kernel.zram.list()).find((z) => z.id === id)! };
  }
  const info = await w.kernel.loop.attach({
    file: args.file as string,
    readOnly: args.readOnly as boolean,
    offset: (args.offset as number) || undefined,
    sizeLimit: (args.sizeLimit as number) || undefined,
  });
  return { kind: 'loop', info };
}

/** null when the planted device is exactly as it was made (same device, same diskseq, same attributes; holders aside). */
export async function plantedChange(w: World, p: Planted): Promise<string | null> {
  const now =
    p.kind === 'zram' ? (await w.kernel.zram.list()).find((z) => z.id === p.info.id) : (await w.kernel.loop.list()).find((l) => l.device === p.info.device);
  if (!now) return `${p.info.device} (another program's) is gone`;
  if (!isDeepStrictEqual(now, p.info)) return `${p.info.device} (another program's) changed: ${JSON.stringify(p.info)} -> ${JSON.stringify(now)}`;
  return null;
}

/** The host as a user sees it, without the planted device. */
function withoutPlanted(w: World, p: Planted): EndState {
  const s = endState(w) as { kernel: { loops: { device: string }[]; zram: { id: number }[] }; tree: unknown };
  const kernel =
    p.kind === 'zram' ? { ...s.kernel, zram: s.kernel.zram.filter((z) => z.id !== p.info.id) } : { ...s.kernel, loops: s.kernel.loops.filter((l) => l.device !== p.info.device) };
  return { kernel, tree: s.tree };
}

/** The cases foreignDeviceMatrix runs for these steps: every point × both crash modes × both recoveries of each device step. */
export function foreignDeviceCases(defs: StepDef[]): number {
  return defs.filter(isDeviceStep).length * STEP_POINTS.length * 4;
}

/** Runs every (device step × point × crash mode × recovery) of one subject; `tick` after each. */
export async function foreignDeviceMatrix(sc: Subject, tick: () => void = () => undefined): Promise<ForeignFigures> {
  const f: ForeignFigures = { workflow: sc.workflow, runs: 0, operatorStops: 0, violations: [], steps: [] };
  const v = f.violations;
  const base = World.create();
  await sc.setup(base);
  const baseline = endState(base);
  const ref = base.clone();
  await startRun(ref, sc, ID);
  const events = (await (await ref.store()).load(ID)).events;
  const devSteps = (await stepsIn(base, sc, ID)).filter(isDeviceStep);
  for (const def of devSteps) {
    const intent = events.find((e) => e.type === 'StepIntended' && e.step === def.name) as unknown as { args: Json };
    f.steps.push(def.name);
    for (const p of STEP_POINTS) {
      for (const mode of ['process', 'power'] as Mode[]) {
        for (const how of ['resume', 'rollback'] as Recovery[]) {
          const point = `apply:${def.name}:${p}`;
          const where = `${sc.workflow} ${point} ${mode} ${how} + a foreign ${def.kind} device in the window`;
          f.runs++;
          // one case; one that throws is a finding, and the matrix goes on
          const deviceCase = async (): Promise<void> => {
            const w = base.clone();
            w.crashAt = point;
            try {
              await startRun(w, sc, ID);
              v.push(`${where}: point never reached`);
              return;
            } catch (err) {
              if (!(err instanceof CrashSignal)) {
                v.push(`${where}: failed instead of crashing: ${String(err)}`);
                return;
              }
            }
            w.crashAt = undefined;
            await crash(w, mode, sc);
            const planted = await plantForeignDevice(w, def.kind, intent.args);
            const stops: OperatorStop[] = [];
            const isForeign = (c: { device: string; diskseq: number }) => c.device === planted.info.device && c.diskseq === planted.info.diskseq;
            let res;
            try {
              res = await recoverWithOperator(w, () => recover(w, how), isForeign, stops);
            } catch (err) {
              v.push(`${where}: ${how} failed: ${String(err)}`);
              return;
            }
            f.operatorStops += stops.length;
            checkStops(stops, [point], mode, v, where, foreignWindow, 2);
            const want = how === 'resume' ? 'done' : 'rolled-back';
            if (res === 'not-found' || res.phase !== want) v.push(`${where}: ${how} ended ${res === 'not-found' ? 'not-found' : res.phase}, not ${want}`);
            const changed = await plantedChange(w, planted);
            if (changed) v.push(`${where}: after ${how}: ${changed}`);
            if (how === 'resume') {
              const back = await (await w.runner()).rollback(ID);
              if (back.phase !== 'rolled-back') v.push(`${where}: rollback after resume ended ${back.phase}`);
              const again = await plantedChange(w, planted);
              if (again) v.push(`${where}: after rollback: ${again}`);
            }
            if (!isDeepStrictEqual(withoutPlanted(w, planted), baseline)) v.push(`${where}: the host is not as before the run (besides the foreign device): ${JSON.stringify(withoutPlanted(w, planted))}`);
          };
          await deviceCase().catch((err: unknown) => v.push(`${where}: failed: ${String(err)}`));
          tick();
        }
      }
    }
  }
  return f;
}
