/**
 * The run's state machine (xstate v5), built from the transition table (transitions.ts),
 * used only as a pure reducer: no invoke, no effectful actions. The machine's state is
 * the run's phase; its context is the RunState that `reduce` computes. It checks every
 * new event before it is appended (fold.ts RunCursor.accept); a journal's persisted events
 * are folded by the table's plain interpreter, which applies the same guards
 * (test/unit/engine/fold-equivalence.test.ts holds the two to the same decisions and states).
 */
import { assign, setup } from 'xstate';
import type { EventOf, FlowEvent } from '../../journal/events.js';
import type { StepDef } from '../../machines/types.js';
import { initialState, reduce, type Phase, type RunState } from './state.js';
import { FINAL_STATES, GUARDS, INITIAL_STATE, MACHINE_STATES, stoppedFromOf, TRANSITIONS, type Transition } from './transitions.js';

export { fits, guardWork } from './guards.js';
export { phaseOf } from './transitions.js';

/** Bump when the machine's accepted event sequences change; recorded nowhere else. */
export const MACHINE_VERSION = 1;

type Params = { phase: Phase };

/** One table transition as xstate's transition config. */
const configOf = (t: Transition) => ({
  guard: { type: t.guard, params: { phase: t.phase } },
  ...(t.target ? { target: t.target } : {}),
  actions: { type: 'reduce' as const, params: { phase: t.phase } },
});

export function createRunMachine(defs: StepDef[], id: string) {
  const states = Object.fromEntries(
    MACHINE_STATES.map((v) => [
      v,
      FINAL_STATES.has(v) ? { type: 'final' as const } : { on: Object.fromEntries(Object.entries(TRANSITIONS[v]).map(([type, ts]) => [type, ts!.map(configOf)])) },
    ]),
  );
  const guard = (name: keyof typeof GUARDS) => ({ context, event }: { context: RunState; event: FlowEvent }, p: Params) => GUARDS[name](context, event, p.phase);
  return setup({
    types: {
      context: {} as RunState,
      events: {} as FlowEvent,
      input: {} as { first: EventOf<'RunStarted'> },
    },
    guards: {
      fits: guard('fits'),
      failStops: guard('failStops'),
      resumesForward: guard('resumesForward'),
      resumesDone: guard('resumesDone'),
    },
    actions: {
      reduce: assign(({ context, event }, p: Params) => reduce(context, event, stoppedFromOf(p.phase))),
    },
  }).createMachine({
    id: 'run',
    // xstate's transition() makes a throwaway actor without input for every event: give it no
    // context (building one, or throwing a TypeError on the missing input, cost more than the event)
    context: ({ input }) => (input ? initialState(input.first, id, defs) : (undefined as unknown as RunState)),
    initial: INITIAL_STATE,
    states: states as never,
  });
}

export type RunMachine = ReturnType<typeof createRunMachine>;
