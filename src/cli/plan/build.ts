/**
 * `flow plan`'s model: the steps a run would take, each with the exact commands flow
 * would run and their inverse, built by the workflow definition from preflighted params
 * and placeholder outputs. Pure.
 */
import { HAS_INVERSE, type Json, type Outputs, type StepKind, type WorkflowDef } from '../../../machines/types.js';
import { executors } from '../../steps/index.js';
import { placeholderOutputs } from './placeholders.js';

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

/** Why a kind has no inverse, for people. */
export const NO_INVERSE: Readonly<Partial<Record<StepKind, string>>> = {
  'partitions.check': 'nothing to undo: it only reads',
  'fs.grow': 'not undone: the device under the filesystem goes away on rollback',
  'fs.mkfs': 'not undone by itself: rollback removes the file it is on',
};

export function buildPlan(wf: WorkflowDef<any>, params: Json, id: string): Plan {
  const outputs: Record<string, Json | undefined> = {};
  const steps = wf.steps(wf.parseParams(params), id).map((def): PlanStep => {
    const args = def.args(outputs as Outputs);
    const outs = placeholderOutputs(def, args);
    outputs[def.name] = outs;
    const c = executors[def.kind].commands(args, outs);
    return { name: def.name, kind: def.kind, title: def.title, command: c.apply, inverse: HAS_INVERSE[def.kind] ? c.undo : [] };
  });
  return { workflow: wf.name, id, params, steps };
}
