/**
 * A loaded workflow file with its preflighted params, as the engine's WorkflowDef (what the
 * runner and `flow plan` take), and the definition record a new run writes in RunStarted.
 */
import type { EventOf } from '../../journal/events.js';
import type { Json, Outputs, WorkflowDef } from '../../machines/types.js';
import type { Preflighted } from '../preflight/workflow.js';
import { optionOf } from './params.js';
import { instantiate } from './resolve.js';
import type { LoadedWorkflow } from './source.js';

/** `plan`: for `flow plan` (device placeholders accepted in dm tables). */
export function workflowDefOf(l: LoadedWorkflow, pf: Preflighted, plan = false): WorkflowDef<Json> {
  const wf = l.workflow;
  const inst = (id: string) => instantiate(wf, pf.params, { id, ...pf.run }, plan);
  return {
    name: wf.name,
    version: wf.version,
    description: wf.description,
    options: wf.params.map(([n, p]) => optionOf(n, p)),
    examples: wf.examples,
    // the steps come from the file's params (pf.params), whatever the run displays
    parseParams: (raw) => raw,
    steps: (_p, id) => inst(id).steps,
    outputs: (_p, o: Outputs) => inst('').outputs(o),
  };
}

export function definitionRecord(l: LoadedWorkflow, pf: Preflighted): NonNullable<EventOf<'RunStarted'>['definition']> {
  return { sha256: l.sha256, source: l.source, workflow: l.definition, params: pf.params as Json, run: pf.run };
}
