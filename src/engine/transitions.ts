/**
 * The run machine's transitions as data: for each machine state and event type, the
 * candidate transitions in order, each a guard, the phase `reduce` runs in, and the state
 * it goes to. One table, two interpreters that must agree (test/unit/engine/fold-equivalence.test.ts):
 *  - `applyEvent` below, a plain pure reducer: the fold of a journal's already-persisted events
 *    (fold.ts RunCursor.feed), a few property reads per event;
 *  - xstate (machine.ts builds its machine config from this table): checks every NEW event
 *    before it is appended (RunCursor.accept).
 * Every event must pass a guard that checks it is exactly what `plan` would have done next
 * (guards.ts `fits`), so a tampered, reordered or foreign journal is rejected by both.
 */
import type { EventType, FlowEvent } from '../../journal/events.js';
import { fits } from './guards.js';
import { reduce, type Phase, type RunState } from './state.js';

/** The machine's states (a run's phase, spelled as xstate state names). */
export type MachineState = 'forward' | 'rollback' | 'done' | 'failed' | 'interrupted' | 'needsOperator' | 'rolledBack';

export const INITIAL_STATE: MachineState = 'forward';
export const MACHINE_STATES: readonly MachineState[] = ['forward', 'rollback', 'done', 'failed', 'interrupted', 'needsOperator', 'rolledBack'];
/** States no event leaves (xstate: `type: 'final'`). */
export const FINAL_STATES: ReadonlySet<MachineState> = new Set(['rolledBack']);

/** The guards, shared by both interpreters; `phase` is the transition's phase. */
export const GUARDS = {
  /** the event is what the run would do next in this phase */
  fits: (s: RunState, e: FlowEvent, phase: Phase) => fits(s, phase, e),
  /** a step failed and the run keeps what it made (stops instead of rolling back) */
  failStops: (s: RunState, e: FlowEvent, phase: Phase) => s.keepOnFailure && fits(s, phase, e),
  /** resume continues forward, not a stopped rollback */
  resumesForward: (s: RunState) => s.stoppedFrom !== 'rollback',
  /** after a reboot took the run's devices, resume re-applies them */
  resumesDone: (s: RunState) => s.steps.some((st) => st.status !== 'applied'),
} satisfies Record<string, (s: RunState, e: FlowEvent, phase: Phase) => boolean>;

export type GuardName = keyof typeof GUARDS;

export interface Transition {
  guard: GuardName;
  /** the phase the guard checks in and `reduce` runs in */
  phase: Phase;
  /** the state after the event (absent: stays) */
  target?: MachineState;
}

const stay = (phase: Phase, types: EventType[]) => Object.fromEntries(types.map((t) => [t, [{ guard: 'fits', phase }]])) as Partial<Record<EventType, Transition[]>>;
const go = (phase: Phase, target: MachineState): Transition[] => [{ guard: 'fits', phase, target }];
const stopped = (phase: Phase): Partial<Record<EventType, Transition[]>> => ({
  ResumeStarted: [{ guard: 'resumesForward', phase, target: 'forward' }],
  RollbackStarted: go(phase, 'rollback'),
  BootChanged: [{ guard: 'fits', phase }],
});

export const TRANSITIONS: Readonly<Record<MachineState, Readonly<Partial<Record<EventType, readonly Transition[]>>>>> = {
  forward: {
    ...stay('forward', ['StepIntended', 'StepSucceeded', 'StepProbed', 'StepCleaned', 'ResumeStarted', 'BootChanged']),
    StepFailed: [
      { guard: 'failStops', phase: 'forward', target: 'failed' },
      { guard: 'fits', phase: 'forward' },
    ],
    RunFinished: go('forward', 'done'),
    RollbackStarted: go('forward', 'rollback'),
    RunInterrupted: go('forward', 'interrupted'),
    NeedsOperator: go('forward', 'needsOperator'),
  },
  rollback: {
    ...stay('rollback', ['StepProbed', 'StepCleaned', 'UndoIntended', 'UndoSucceeded', 'UndoSkipped', 'RollbackStarted', 'BootChanged']),
    UndoFailed: go('rollback', 'rollback'),
    RollbackFinished: go('rollback', 'rolledBack'),
    RunInterrupted: go('rollback', 'interrupted'),
    NeedsOperator: go('rollback', 'needsOperator'),
  },
  done: {
    RollbackStarted: go('done', 'rollback'),
    BootChanged: [{ guard: 'fits', phase: 'done' }],
    ResumeStarted: [{ guard: 'resumesDone', phase: 'done', target: 'forward' }],
  },
  failed: stopped('failed'),
  interrupted: stopped('interrupted'),
  needsOperator: { ...stopped('needs-operator'), OperatorResolved: [{ guard: 'fits', phase: 'needs-operator' }] },
  rolledBack: {},
};

/** What `reduce` records as the phase a run stopped from. */
export const stoppedFromOf = (phase: Phase): 'forward' | 'rollback' => (phase === 'rollback' ? 'rollback' : 'forward');

/**
 * The plain interpreter: the first transition of (state, event type) whose guard passes,
 * applied; undefined when none does (the event does not fit the run here: nothing changed).
 */
export function applyEvent(value: MachineState, s: RunState, e: FlowEvent): { value: MachineState; context: RunState } | undefined {
  const candidates = TRANSITIONS[value][e.type];
  if (!candidates) return undefined;
  for (const t of candidates) {
    if (GUARDS[t.guard](s, e, t.phase)) return { value: t.target ?? value, context: reduce(s, e, stoppedFromOf(t.phase)) };
  }
  return undefined;
}

/** The machine's state value as a Phase. */
export function phaseOf(value: unknown): Phase {
  switch (value) {
    case 'needsOperator':
      return 'needs-operator';
    case 'rolledBack':
      return 'rolled-back';
    default:
      return value as Phase;
  }
}
