/**
 * A run's state, derived from its journal by `reduce` (pure). Step statuses:
 * pending → intended → applied | failed; intended/failed are "in doubt" until a probe
 * settles them (applied | absent → pending | partial → cleaned → pending). Rollback:
 * applied → undo-intended → undone | undo-failed.
 *
 * Folding is linear: `reduce` costs O(1) amortized per event, whatever the number of
 * steps. The steps array and its StepTrack (where `plan` looks next) belong to the fold
 * and are updated in place (copying them would make each event cost O(steps)): a RunState
 * is the run as of the latest event folded, and an older RunState object of the same run
 * shares its steps. The machine commits an event only once it accepted it (fold.ts).
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
  /** the fold's index and cursors over `steps` (see StepTrack) */
  track: StepTrack;
  /** the recorded workflow definition (absent in format-1 journals) */
  definition?: EventOf<'RunStarted'>['definition'];
}

/**
 * What keeps `plan` and the machine's guards O(1): step positions by name, and two
 * cursors kept by every status change (`setStep`), each moving over a step only when an
 * event changed that step (the amortized O(1) argument is in `setStep`).
 */
export interface StepTrack {
  readonly index: ReadonlyMap<string, number>;
  /** the first step that is not applied (steps.length when all are): forward's next */
  fwd: number;
  /** the last step that is neither pending nor undone (-1 when none): rollback's next */
  back: number;
  /** steps a reboot changes (a volatile effect that is not pending/undone, a durable applied / undo-failed one) */
  readonly reboot: Set<number>;
}

/** Steps examined by the fold and plan (cursor moves, reboot updates): counted so a test can prove the work linear. */
export const foldWork = { stepVisits: 0 };

const applied = (st: StepState) => st.status === 'applied';
const active = (st: StepState) => st.status !== 'pending' && st.status !== 'undone';
const changedByReboot = (st: StepState) => active(st) && (!st.def.durable || st.status === 'applied' || st.status === 'undo-failed');

/** Builds the track of `steps` by scanning them once (O(steps): a new run, or a test's hand-made state). */
export function trackOf(steps: readonly StepState[]): StepTrack {
  const index = new Map(steps.map((st, i) => [st.name, i]));
  let fwd = 0;
  while (fwd < steps.length && applied(steps[fwd]!)) fwd++;
  let back = steps.length - 1;
  while (back >= 0 && !active(steps[back]!)) back--;
  const reboot = new Set<number>();
  steps.forEach((st, i) => changedByReboot(st) && reboot.add(i));
  return { index, fwd, back, reboot };
}

/**
 * Replaces step `i` and keeps the track. Amortized O(1): `fwd` moves forward only over
 * applied steps, and a step is passed again only after it was made applied again by an
 * event (in the forward phase only a reboot makes an applied step unapplied, and it
 * unapplies every applied step; in rollback an undo starts only above no applied step).
 * Likewise `back` moves back only over pending/undone steps, which an event or a reboot
 * (paid by the event that made the step active) made so. A jump of a cursor is O(1).
 */
export function setStep(steps: StepState[], t: StepTrack, i: number, st: StepState): void {
  steps[i] = st;
  if (!applied(st) && i < t.fwd) t.fwd = i;
  else if (i === t.fwd && applied(st)) {
    while (t.fwd < steps.length && applied(steps[t.fwd]!)) {
      t.fwd++;
      foldWork.stepVisits++;
    }
  }
  if (active(st) && i > t.back) t.back = i;
  else if (i === t.back && !active(st)) {
    while (t.back >= 0 && !active(steps[t.back]!)) {
      t.back--;
      foldWork.stepVisits++;
    }
  }
  if (changedByReboot(st)) t.reboot.add(i);
  else t.reboot.delete(i);
}

export function initialState(first: EventOf<'RunStarted'>, id: string, defs: StepDef[]): RunState {
  const steps: StepState[] = defs.map((def) => ({ name: def.name, def, status: 'pending', undoing: false, lost: false }));
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
    steps,
    lastSeq: first.seq,
    track: trackOf(steps),
    ...(first.definition ? { definition: first.definition } : {}),
  };
}

/**
 * The effect of one event on the run's data (the phase is the machine's business), in
 * O(1) amortized: the top-level fields are copied, the changed step is replaced in place
 * (see the module comment).
 */
export function reduce(s: RunState, e: FlowEvent, stoppedFrom?: 'forward' | 'rollback'): RunState {
  const next: RunState = { ...s, lastSeq: e.seq, updated: e.at };
  const step = (name: string, f: (st: StepState) => Partial<StepState>): RunState => {
    const i = s.track.index.get(name);
    if (i === undefined) return next;
    setStep(next.steps, next.track, i, { ...next.steps[i]!, ...f(next.steps[i]!) });
    return next;
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
      // only the steps a reboot changes, each put there by an earlier event
      for (const i of [...next.track.reboot]) {
        foldWork.stepVisits++;
        setStep(next.steps, next.track, i, afterReboot(next.steps[i]!));
      }
      return { ...next, bootId: e.to };
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
