/** How runs, steps and events look on the terminal and in --json. */
import type { FlowEvent } from '../../journal/events.js';
import { findWorkflow } from '../../machines/index.js';
import type { Phase, RunState, StepState } from '../engine/state.js';
import type { Value } from '../workflow/evaluate.js';
import { workflowFromDefinition } from '../workflow/recorded.js';
import { instantiate } from '../workflow/resolve.js';

/** The status a user sees; `running` is a run no flow process finished (live or crashed). */
export function statusOf(phase: Phase): string {
  return phase === 'forward' ? 'running' : phase === 'rollback' ? 'rolling-back' : phase;
}

export function runOutputs(s: RunState): Record<string, string> {
  const outs = Object.fromEntries(s.steps.filter((x) => x.status === 'applied').map((x) => [x.name, x.outputs]));
  const d = s.definition;
  // a run that recorded its definition: its outputs from the journal alone
  if (d) return instantiate(workflowFromDefinition(d.workflow, `run ${s.id}'s definition`), d.params as Record<string, Value>, { id: s.id, ...d.run }).outputs(outs);
  const wf = findWorkflow(s.workflow);
  if (!wf) return {};
  return wf.outputs(wf.parseParams(s.params), outs);
}

export function stepJson(st: StepState) {
  return {
    name: st.name,
    kind: st.def.kind,
    title: st.def.title,
    status: st.status,
    ...(st.lost ? { lost: true } : {}),
    ...(st.outputs ? { outputs: st.outputs } : {}),
    ...(st.error ? { error: st.error } : {}),
  };
}

/** `flow run/resume/rollback --json`: one object at the end. */
export function runJson(s: RunState, phase: Phase) {
  return { id: s.id, workflow: s.workflow, status: statusOf(phase), outputs: phase === 'done' ? runOutputs(s) : {}, steps: s.steps.map(stepJson) };
}

/** The key output of a step, for its progress line. */
export function keyOutput(st: StepState | undefined): string {
  const o = st?.outputs;
  if (!o) return '';
  for (const k of ['device', 'target', 'path', 'uuid']) if (typeof o[k] === 'string') return String(o[k]);
  return '';
}

/** One line per event a person wants to see while a run progresses; undefined for the others. */
export function progressLine(e: FlowEvent, s: RunState): string | undefined {
  const st = 'step' in e ? s.steps.find((x) => x.name === e.step) : undefined;
  const pad = (n: string) => n.padEnd(22);
  switch (e.type) {
    case 'StepSucceeded':
      return `  done      ${pad(e.step)} ${st?.def.title ?? ''}${keyOutput(st) ? `  -> ${keyOutput(st)}` : ''}`;
    case 'StepFailed':
      return `  FAILED    ${pad(e.step)} ${e.error.message}`;
    case 'StepProbed':
      return `  probed    ${pad(e.step)} ${e.found}${e.detail ? ` (${e.detail})` : ''}`;
    case 'StepCleaned':
      return `  cleaned   ${pad(e.step)} partial effect removed`;
    case 'UndoSucceeded':
      return `  undone    ${pad(e.step)} ${st?.def.title ?? ''}`;
    case 'UndoSkipped':
      return `  skipped   ${pad(e.step)} nothing to undo (${e.reason})`;
    case 'UndoFailed':
      return `  FAILED    ${pad(e.step)} undo: ${e.error.message}`;
    case 'RollbackStarted':
      return `rolling back (${e.reason})`;
    case 'ResumeStarted':
      return 'resuming';
    case 'BootChanged':
      return 'the host rebooted since the last step: devices of the run are gone; files remain';
    default:
      return undefined;
  }
}

export function eventLine(e: FlowEvent): string {
  const { seq, at, type, ...rest } = e;
  const step = 'step' in rest ? `${(rest as { step: string }).step} ` : '';
  if ('step' in rest) delete (rest as { step?: string }).step;
  const detail = Object.keys(rest).length ? JSON.stringify(rest) : '';
  return `${String(seq).padStart(3)}  ${at}  ${type.padEnd(16)} ${step}${detail}`;
}
