/**
 * `flow verify`'s engine: the three crash matrices on one subject, in memory, with the
 * figures a person and a script read. Every case is counted before the first runs, so
 * progress is "done of total".
 */
import { CrashMatrix } from './matrix.js';
import { foreignDeviceCases, foreignDeviceMatrix } from './foreign-devices.js';
import { ForeignMatrix, foreignFileCases, runForeignFiles } from './foreign-files.js';
import { ID } from './operator.js';
import { stepsIn, type Subject } from './subject.js';
import { SimWorld } from './world.js';

export interface VerifyReport {
  workflow: string;
  steps: number;
  points: { enumerated: number; tried: number };
  /** crash → recovery runs of the main matrix (each also crashed once more during its recovery where it had points) */
  runs: number;
  resumed: number;
  rolledBack: number;
  alreadyClean: number;
  recoveryCrashes: number;
  operatorStops: number;
  /** another program's loop or zram device made in the window of each device step */
  foreignDevices: { runs: number; operatorStops: number };
  /** another process's file or directory at each point of each file.create / dir.make step */
  foreignFiles: { planted: number };
  violations: string[];
  leaks: number;
  seconds: number;
}

export interface Progress {
  done: number;
  total: number;
  violations: number;
}

/** Runs the matrices on `sub`; `progress` after every case. Throws what the preflight throws (a refusal: UsageError). */
export async function verifyWorkflow(sub: Subject, progress: (p: Progress) => void = () => undefined): Promise<VerifyReport> {
  const t0 = performance.now();
  // the preflight first, alone: a refused param is the user's error, not a finding
  const host = SimWorld.create();
  await sub.setup(host);
  const defs = await stepsIn(host, sub, ID);

  const main = new CrashMatrix(sub);
  const points = await main.prepare();
  const files = new ForeignMatrix(sub);
  const filePrep = await files.prepare();
  const total = CrashMatrix.cases(points) + foreignDeviceCases(defs) + foreignFileCases(filePrep);
  let done = 0;
  let found = 0;
  const tick = () => progress({ done: ++done, total, violations: found });

  const m = await main.runAll(points, () => ((found = main.figures.violations.length), tick()));
  const d = await foreignDeviceMatrix(sub, tick);
  found += d.violations.length;
  const f = await runForeignFiles(files, filePrep, tick);
  const violations = [...m.violations, ...d.violations, ...f.violations];
  progress({ done: total, total, violations: violations.length });
  return {
    workflow: sub.workflow,
    steps: defs.length,
    points: { enumerated: m.pointsEnumerated, tried: m.pointsTried.size },
    runs: m.runs,
    resumed: m.outcomes.resumed ?? 0,
    rolledBack: m.outcomes['rolled back'] ?? 0,
    alreadyClean: m.outcomes['already clean'] ?? 0,
    recoveryCrashes: m.recoveryCrashes,
    operatorStops: m.operatorStops,
    foreignDevices: { runs: d.runs, operatorStops: d.operatorStops },
    foreignFiles: { planted: f.planted },
    violations,
    leaks: m.leaks,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

/** Verified: every point tried, no violation, no leak. */
export function passed(r: VerifyReport): boolean {
  return r.violations.length === 0 && r.leaks === 0 && r.points.tried === r.points.enumerated;
}
