/**
 * The run machine's guard: is an event exactly what the run would do next? Shared by the
 * plain fold and xstate (transitions.ts).
 */
import type { FlowEvent } from '../../journal/events.js';
import { plan } from './plan.js';
import type { Phase, RunState } from './state.js';

/** Guard evaluations, counted so a test can prove the fold's work per event constant. */
export const guardWork = { calls: 0 };

/** Is `e` what the run would do next in this phase? O(1): plan follows the fold's cursor, steps are found by index. */
export function fits(s: RunState, phase: Phase, e: FlowEvent): boolean {
  guardWork.calls++;
  const next = plan(s, phase);
  const i = 'step' in e ? s.track.index.get(e.step) : undefined;
  const st = i === undefined ? undefined : s.steps[i];
  if ('step' in e && !st) return false;
  switch (e.type) {
    case 'StepIntended':
      return next.type === 'apply' && next.step === e.step;
    case 'StepSucceeded':
    case 'StepFailed':
      return st?.status === 'intended';
    case 'StepProbed':
      return next.type === 'probe' && next.step === e.step;
    case 'StepCleaned':
      return next.type === 'clean' && next.step === e.step;
    case 'UndoIntended':
      return next.type === 'undo' && next.step === e.step;
    case 'UndoSucceeded':
    case 'UndoFailed':
      return st?.status === 'undo-intended';
    case 'UndoSkipped':
      return next.type === 'skip-undo' && next.step === e.step;
    case 'RunFinished':
      return next.type === 'finish';
    case 'RollbackFinished':
      return next.type === 'finish-rollback';
    case 'NeedsOperator':
      return st !== undefined && st.status !== 'pending';
    case 'BootChanged':
      return e.from === s.bootId && e.to !== s.bootId;
    case 'OperatorResolved':
      // only a step in doubt; "applied" only when its outputs are known (later steps need them)
      return st !== undefined && ['intended', 'failed', 'partial', 'undo-intended', 'undo-failed'].includes(st.status) && (e.as === 'absent' || st.outputs !== undefined);
    default:
      return true;
  }
}
