/**
 * The step kinds' refusals on a run's resolved steps (each kind's `preflight`,
 * src/steps/kinds/<kind>.ts): what each step would do, checked against this host before
 * anything changes, for every workflow (built-in, /etc or a file) alike. A step's
 * arguments hold placeholders where they name what an earlier step makes.
 */
import type { Json, StepDef } from '../../machines/types.js';
import type { Kernel } from '../kernel/types.js';
import { KIND_SPECS } from '../steps/kinds/index.js';
import type { ArgNode, Workflow } from '../workflow/definition.js';
import { plannedOutputs } from '../steps/kinds/placeholders.js';

/** The params an argument's expressions refer to. */
function paramsIn(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) for (const x of node) paramsIn(x, into);
  else if (node !== null && typeof node === 'object') {
    const o = node as { t?: string; root?: string; path?: string[]; node?: unknown };
    if (o.t === 'ref' && o.root === 'params' && o.path?.[0]) into.add(o.path[0]);
    for (const [k, v] of Object.entries(o)) if (k !== 'node') paramsIn(v, into);
  }
  return into;
}

/** Where a step's argument comes from: the one option it is made of (`--name` for `${params.name}-base`), else the step's argument. */
export function argOrigin(wf: Workflow, step: string, arg: string): string {
  const a: ArgNode | undefined = wf.steps.find((s) => s.name === step)?.args.find(([k]) => k === arg)?.[1];
  const ps = a ? [...paramsIn(a, new Set())] : [];
  return ps.length === 1 ? `--${ps[0]}` : `step ${step}: ${arg}`;
}

/** Runs each step's kind preflight, in step order; throws the first refusal (UsageError). */
export async function preflightSteps(wf: Workflow, steps: readonly StepDef[], kernel: Kernel): Promise<void> {
  const outputs: Record<string, Json> = {};
  for (const d of steps) {
    const spec = KIND_SPECS[d.kind];
    let args: Json | null;
    try {
      args = d.planArgs ? d.planArgs(outputs) : d.args(outputs);
    } catch {
      args = null; // it cannot be known before the run: the run's own checks apply
    }
    if (args && spec.preflight) await spec.preflight(args, { kernel, option: (arg) => argOrigin(wf, d.name, arg) });
    outputs[d.name] = plannedOutputs(d, args ?? {});
  }
}
