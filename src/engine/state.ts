/**
 * A run's state, derived from its journal by `reduce` (pure). Step statuses:
 * pending → intended → applied | failed; intended/failed are "in doubt" until a probe
 * settles them (applied | absent → pending | partial → cleaned → pending). Rollback:
 * applied → undo-intended → undone | undo-failed.
 */
import type { EventOf, FlowEvent } from '../../journal/events.js';
import type { Json, StepDef } from '../../machines/types.js';

export type StepStatus = 'pending' | 'intended' | 'applied' | 'failed' | 'partial' | 'undo-intended' | 'undo-failed' | 'undone';

export type Phase = 'forward' | 'rollback' | 'done' | 'rolled-back' | 'interrupted' | 'failed' | 'needs-operator';

export interface StepState {
  name: string;
  def: StepDef;
  status: StepStatus;
  args?: Json;
  marker?: Json;
  outputs?: Json;
  error?: { code: string; message: string };
  /** an undo was started (a probe finding "absent" then means undone) */
  undoing: boolean;
  /** the effect was lost in a reboot */
  lost: boolean;
}

export interface RunState {
  id: string;
  workflow: string;
  workflowVersion: number;
  params: Json;
  created: string;
  updated: string;
  key?: string;
  keepOnFailure: boolean;
  bootId: string;
  /** the phase an interrupted or stopped run was in */
  stoppedFrom?: 'forward' | 'rollback';
  operator?: { step: string; reason: string; commands: string[] };
  steps: StepState[];
  lastSeq: number;
  /** the recorded workflow definition (absent in format-1 journals) */
  definition?: EventOf<'RunStarted'>['definition'];
}

export function initialState(first: EventOf<'RunStarted'>, id: string, defs: StepDef[]): RunState {
  return {
    id,
    workflow: first.workflow,
    workflowVersion: first.workflowVersion,
    params: first.params,
    created: first.at,
    updated: first.at,
    key: first.key,
    keepOnFailure: first.keepOnFailure,
    bootId: first.bootId,
    steps: defs.map((def) => ({ name: def.name, def, status: 'pending', undoing: false, lost: false })),
    lastSeq: first.seq,
    ...(first.definition ? { definition: first.definition } : {}),
  };
}

/** The effect of one event on the run's data (the phase is the machine's business). */
export function reduce(s: RunState, e: FlowEvent, stoppedFrom?: 'forward' | 'rollback'): RunState {
  const next: RunState = { ...s, lastSeq: e.seq, updated: e.at };
  // one step replaced by position (a copy of the array, not a map over it: runs can be long)
  const step = (name: string, f: (st: StepState) => Partial<StepState>): RunState => {
    const i = next.steps.findIndex((st) => st.name === name);
    if (i < 0) return next;
    const steps = next.steps.slice();
    steps[i] = { ...steps[i]!, ...f(steps[i]!) };
    return { ...next, steps };
  };
  switch (e.type) {
    case 'RunStarted':
      return next;
    case 'StepIntended':
      return step(e.step, () => ({ status: 'intended', args: e.args, marker: e.marker, outputs: undefined, error: undefined, lost: false, undoing: false }));
    case 'StepSucceeded':
      return step(e.step, () => ({ status: 'applied', outputs: e.outputs }));
    case 'StepFailed':
      return step(e.step, () => ({ status: 'failed', error: e.error }));
    case 'StepProbed':
      return step(e.step, (st) => {
        if (e.found === 'applied') return { status: 'applied', outputs: e.outputs ?? st.outputs };
        if (e.found === 'partial') return { status: 'partial' };
        return { status: st.undoing ? 'undone' : 'pending', undoing: false };
      });
    case 'StepCleaned':
      return step(e.step, (st) => ({ status: st.undoing ? 'undone' : 'pending', undoing: false }));
    case 'UndoIntended':
      return step(e.step, () => ({ status: 'undo-intended', undoing: true, error: undefined }));
    case 'UndoSucceeded':
    case 'UndoSkipped':
      return step(e.step, () => ({ status: 'undone', undoing: false }));
    case 'UndoFailed':
      return step(e.step, () => ({ status: 'undo-failed', error: e.error }));
    case 'RunInterrupted':
      return { ...next, stoppedFrom };
    case 'NeedsOperator':
      return { ...next, stoppedFrom, operator: { step: e.step, reason: e.reason, commands: e.commands } };
    case 'OperatorResolved':
      return step(e.step, (st) =>
        e.as === 'applied' ? { status: 'applied', undoing: false, error: undefined } : { status: st.undoing ? 'undone' : 'pending', undoing: false, error: undefined },
      );
    case 'ResumeStarted':
    case 'RollbackStarted':
      return { ...next, operator: undefined };
    case 'BootChanged':
      return { ...next, bootId: e.to, steps: next.steps.map(afterReboot) };
    case 'RunFinished':
    case 'RollbackFinished':
      return next;
  }
}

/** After a reboot volatile effects are gone (lost, not "never done"); durable ones must be probed again. */
function afterReboot(st: StepState): StepState {
  if (st.status === 'pending' || st.status === 'undone') return st;
  if (!st.def.durable) return { ...st, status: st.undoing ? 'undone' : 'pending', lost: true, undoing: false };
  if (st.status === 'applied' || st.status === 'undo-failed') return { ...st, status: st.undoing ? 'undo-intended' : 'intended' };
  return st;
}
