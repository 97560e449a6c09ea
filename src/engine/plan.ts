/**
 * plan(state) → the next action: what the runner does next, decided from the state alone.
 * Forward: steps in order; rollback: in reverse. A step in doubt is probed before
 * anything else is done with it; a partial effect is cleaned first.
 */
import { HAS_INVERSE } from '../../machines/types.js';
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
  if (phase === 'forward') return planForward(s.steps);
  if (phase === 'rollback') return planRollback(s.steps);
  return { type: 'none', reason: `run is ${phase}` };
}

function planForward(steps: readonly StepState[]): Action {
  for (const st of steps) {
    if (st.status === 'applied') continue;
    if (IN_DOUBT.has(st.status)) return { type: 'probe', step: st.name };
    if (st.status === 'partial') return { type: 'clean', step: st.name };
    if (st.status === 'pending' || st.status === 'undone') return { type: 'apply', step: st.name };
  }
  return { type: 'finish' };
}

function planRollback(steps: readonly StepState[]): Action {
  for (const st of [...steps].reverse()) {
    if (st.status === 'pending' || st.status === 'undone') continue;
    if (IN_DOUBT.has(st.status)) return { type: 'probe', step: st.name };
    if (st.status === 'partial') return { type: 'clean', step: st.name };
    if (st.status === 'applied') {
      return HAS_INVERSE[st.def.kind] ? { type: 'undo', step: st.name } : { type: 'skip-undo', step: st.name, reason: inverseReason(st) };
    }
  }
  return { type: 'finish-rollback' };
}

function inverseReason(st: StepState): string {
  switch (st.def.kind) {
    case 'fs.mkfs':
      return 'removed with its file';
    case 'fs.grow':
      return 'forward only; goes with the snapshot';
    default:
      return 'read only';
  }
}
