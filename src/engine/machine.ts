/**
 * The run's state machine (xstate v5), used only as a pure reducer through
 * `transition()`: no invoke, no effectful actions. The machine's state is the run's
 * phase; its context is the RunState that `reduce` computes. Every journal event must be
 * accepted by a guard that checks it is exactly what `plan` would have done next, so a
 * journal that was tampered with, reordered, or written by another machine version is
 * rejected instead of being trusted.
 */
import { assign, setup } from 'xstate';
import type { EventOf, EventType, FlowEvent } from '../../journal/events.js';
import type { StepDef } from '../../machines/types.js';
import { plan } from './plan.js';
import { initialState, reduce, type Phase, type RunState } from './state.js';

/** Bump when the machine's accepted event sequences change; recorded nowhere else. */
export const MACHINE_VERSION = 1;

type Params = { phase: Phase };

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

export function createRunMachine(defs: StepDef[], id: string) {
  const ok = (phase: Phase) => ({ type: 'fits' as const, params: { phase } });
  const stay = (phase: Phase, types: EventType[]) =>
    Object.fromEntries(types.map((t) => [t, { guard: ok(phase), actions: { type: 'reduce' as const, params: { phase } } }]));
  const go = (phase: Phase, target: string, from: Phase = phase) => ({
    guard: ok(phase),
    target,
    actions: { type: 'reduce' as const, params: { phase: from } },
  });
  const stopped = (phase: Phase) => ({
    ResumeStarted: { guard: ({ context }: { context: RunState }) => context.stoppedFrom !== 'rollback', target: 'forward', actions: { type: 'reduce' as const, params: { phase } } },
    RollbackStarted: go(phase, 'rollback'),
    BootChanged: { guard: ok(phase), actions: { type: 'reduce' as const, params: { phase } } },
  });
  return setup({
    types: {
      context: {} as RunState,
      events: {} as FlowEvent,
      input: {} as { first: EventOf<'RunStarted'> },
    },
    guards: {
      fits: ({ context, event }, p: Params) => fits(context, p.phase, event),
    },
    actions: {
      reduce: assign(({ context, event }, p: Params) => reduce(context, event, p.phase === 'rollback' ? 'rollback' : 'forward')),
    },
  }).createMachine({
    id: 'run',
    // xstate's transition() makes a throwaway actor without input for every event: give it no
    // context (building one, or throwing a TypeError on the missing input, cost more than the event)
    context: ({ input }) => (input ? initialState(input.first, id, defs) : (undefined as unknown as RunState)),
    initial: 'forward',
    states: {
      forward: {
        on: {
          ...stay('forward', ['StepIntended', 'StepSucceeded', 'StepProbed', 'StepCleaned', 'ResumeStarted', 'BootChanged']),
          StepFailed: [
            { guard: ({ context, event }) => context.keepOnFailure && fits(context, 'forward', event), target: 'failed', actions: { type: 'reduce', params: { phase: 'forward' } } },
            { guard: ok('forward'), actions: { type: 'reduce', params: { phase: 'forward' } } },
          ],
          RunFinished: go('forward', 'done'),
          RollbackStarted: go('forward', 'rollback'),
          RunInterrupted: go('forward', 'interrupted'),
          NeedsOperator: go('forward', 'needsOperator'),
        },
      },
      rollback: {
        on: {
          ...stay('rollback', ['StepProbed', 'StepCleaned', 'UndoIntended', 'UndoSucceeded', 'UndoSkipped', 'RollbackStarted', 'BootChanged']),
          UndoFailed: go('rollback', 'rollback'),
          RollbackFinished: go('rollback', 'rolledBack'),
          RunInterrupted: go('rollback', 'interrupted'),
          NeedsOperator: go('rollback', 'needsOperator'),
        },
      },
      done: {
        on: {
          RollbackStarted: go('done', 'rollback'),
          BootChanged: { guard: ok('done'), actions: { type: 'reduce', params: { phase: 'done' } } },
          // after a reboot took the run's devices, resume re-applies them
          ResumeStarted: { guard: ({ context }) => context.steps.some((s) => s.status !== 'applied'), target: 'forward', actions: { type: 'reduce', params: { phase: 'done' } } },
        },
      },
      failed: { on: stopped('failed') },
      interrupted: { on: stopped('interrupted') },
      needsOperator: { on: { ...stopped('needs-operator'), OperatorResolved: { guard: ok('needs-operator'), actions: { type: 'reduce', params: { phase: 'needs-operator' } } } } },
      rolledBack: { type: 'final' },
    },
  });
}

export type RunMachine = ReturnType<typeof createRunMachine>;

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
