/**
 * What the crash matrices verify: a workflow, how its params resolve on a simulated host,
 * and that host. The crash tests make one from each test scenario; `flow verify` from a
 * workflow and the command line's params (src/verify/host.ts builds its host).
 */
import type { Json, StepDef, WorkflowDef } from '../../machines/types.js';
import type { RunOutcome } from '../engine/runner.js';
import type { SimWorld } from './world.js';

export interface Subject {
  /** the workflow's name (as the journal records it, and in every finding) */
  workflow: string;
  def: WorkflowDef<any>;
  /** resolves the run's params on the simulated host, as `flow run` would (refusals throw UsageError) */
  preflight(w: SimWorld, id: string): Promise<Json>;
  /** makes the host: the run's inputs and objects another program owns (which no run may touch) */
  setup(w: SimWorld): Promise<void>;
  /** what the host's own boot sets up again after a power cut (other programs' objects) */
  afterBoot(w: SimWorld): Promise<void>;
}

/** Resolves params and starts the run in `w`. */
export async function startRun(w: SimWorld, sub: Subject, id: string): Promise<RunOutcome> {
  return w.startWith(sub.def, await sub.preflight(w, id), id);
}

/** The run's steps as resolved in `w` (a clone: the preflight counts UUIDs). */
export async function stepsIn(w: SimWorld, sub: Subject, id: string): Promise<StepDef[]> {
  const params = await sub.preflight(w.clone(), id);
  return sub.def.steps(sub.def.parseParams(params), id);
}
