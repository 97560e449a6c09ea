/**
 * What the crash matrices verify: a workflow, how a run of it resolves on a simulated
 * host, and that host. The crash tests make one from each test scenario; `flow verify`
 * from a workflow and the command line's params (builtin.ts; host.ts builds its host).
 */
import type { Json, StepDef, WorkflowDef } from '../../machines/types.js';
import type { RunOutcome } from '../engine/runner.js';
import type { SimWorld } from './world.js';

/** A run as `flow run` would start it, resolved on the simulated host. */
export interface ResolvedRun {
  def: WorkflowDef<any>;
  /** the params RunStarted records */
  params: Json;
  /** more of the runner's start request (e.g. the definition record a workflow file's run writes) */
  extra?: Record<string, unknown>;
}

export interface Subject {
  /** the workflow's name (in every finding) */
  workflow: string;
  /** the same preflight as `flow run`, on the simulated host (a refusal throws UsageError); deterministic: a clone of `w` resolves the same */
  resolve(w: SimWorld, id: string): Promise<ResolvedRun>;
  /** makes the host: the run's inputs and objects another program owns (which no run may touch) */
  setup(w: SimWorld): Promise<void>;
  /** what the host's own boot sets up again after a power cut (other programs' objects) */
  afterBoot(w: SimWorld): Promise<void>;
}

/** Resolves the run and starts it in `w`. */
export async function startRun(w: SimWorld, sub: Subject, id: string): Promise<RunOutcome> {
  const r = await sub.resolve(w, id);
  return (await w.runner()).start({ id, workflow: r.def, params: r.params, keepOnFailure: false, ...r.extra });
}

/** The run's steps as resolved in `w` (in a clone: the preflight counts UUIDs). */
export async function stepsIn(w: SimWorld, sub: Subject, id: string): Promise<StepDef[]> {
  const { def, params } = await sub.resolve(w.clone(), id);
  return def.steps(def.parseParams(params), id);
}
