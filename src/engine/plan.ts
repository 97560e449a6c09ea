/**
 * plan(state) → the next action: what the runner does next, decided from the state alone.
 * Forward: steps in order; rollback: in reverse. A step in doubt is probed before
 * anything else is done with it; a partial effect is cleaned first.
 * O(1): the next step is the fold's cursor (state.ts, StepTrack), not a scan.
 */
import { KIND_SPECS } from '../steps/kinds/index.js';
import type { Phase, RunState, StepState } from './state.js';

export type Action =
  | { type: 'apply'; step: string }
  | { type: 'probe'; step: string }
  | { type: 'clean'; step: string }
  | { type: 'undo'; step: string }
  | { type: 'skip-undo'; step: string; reason: string }
  | { type: 'finish' }
  | { type: 'finish-rollback' }
  | { type: 'none'; reason: string };

const IN_DOUBT = new Set(['intended', 'failed', 'undo-intended', 'undo-failed']);

export function plan(s: RunState, phase: Phase): Action {
  if (phase === 'forward') return planForward(s.steps[s.track.fwd]);
  if (phase === 'rollback') return planRollback(s.steps[s.track.back]);
  return { type: 'none', reason: `run is ${phase}` };
}

/** `st`: the first step that is not applied (none: finish). */
function planForward(st: StepState | undefined): Action {
  if (!st) return { type: 'finish' };
  if (IN_DOUBT.has(st.status)) return { type: 'probe', step: st.name };
  if (st.status === 'partial') return { type: 'clean', step: st.name };
  return { type: 'apply', step: st.name }; // pending or undone
}

/** `st`: the last step that is neither pending nor undone (none: rollback finished). */
function planRollback(st: StepState | undefined): Action {
  if (!st) return { type: 'finish-rollback' };
  if (IN_DOUBT.has(st.status)) return { type: 'probe', step: st.name };
  if (st.status === 'partial') return { type: 'clean', step: st.name };
  const inv = KIND_SPECS[st.def.kind].inverse;
  return 'undo' in inv ? { type: 'undo', step: st.name } : { type: 'skip-undo', step: st.name, reason: inv.skip }; // applied
}
