/**
 * `flow plan`'s model: the steps a run would take, each with the exact commands flow
 * would run and their inverse, built by the workflow definition from preflighted params
 * and placeholder outputs. Pure.
 */
import type { Json, Outputs, StepKind, WorkflowDef } from '../../../machines/types.js';
import { executors } from '../../steps/index.js';
import { kindHasInverse } from '../../steps/kinds/index.js';
import { plannedOutputs } from '../../steps/kinds/placeholders.js';

export interface PlanStep {
  name: string;
  kind: StepKind;
  title: string;
  /** the shell lines equivalent to what flow runs */
  command: string[];
  /** the shell lines equivalent to its undo ([] for kinds without an inverse) */
  inverse: string[];
}

export interface Plan {
  workflow: string;
  /** the provisional run id the names were derived from (a run gets its own) */
  id: string;
  params: Json;
  steps: PlanStep[];
}

export function buildPlan(wf: WorkflowDef<any>, params: Json, id: string): Plan {
  const outputs: Record<string, Json | undefined> = {};
  const steps = wf.steps(wf.parseParams(params), id).map((def): PlanStep => {
    const args = def.args(outputs as Outputs);
    const outs = plannedOutputs(def, args);
    outputs[def.name] = outs;
    const c = executors[def.kind].commands(args, outs);
    return { name: def.name, kind: def.kind, title: def.title, command: c.apply, inverse: kindHasInverse(def.kind) ? c.undo : [] };
  });
  return { workflow: wf.name, id, params, steps };
}
