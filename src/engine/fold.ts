/**
 * fold(events) → the run's phase and state. A journal's persisted events are folded by the
 * machine's transition table with its plain interpreter (transitions.ts `applyEvent`: the same
 * guards as the xstate machine, a few property reads per event); every NEW event is checked
 * by the xstate machine (machine.ts) before it is appended (`accept`). The two are held to
 * the same decisions and states by test/unit/engine/fold-equivalence.test.ts. An event the
 * table does not accept means the journal does not fit the machine: it is reported as
 * corrupt. A long run's fold checkpoint (journal/checkpoint.ts) restores the machine's state
 * after a prefix of the events (`save` / the `saved` argument), so only the later ones are fed.
 */
import { createActor, type ActorScope, type AnyStateMachine, type EventFromLogic, type SnapshotFrom } from 'xstate';
import type { EventOf, FlowEvent } from '../../journal/events.js';
import { findWorkflow } from '../../machines/index.js';
import type { StepDef } from '../../machines/types.js';
import type { Value } from '../workflow/evaluate.js';
import { instantiate } from '../workflow/resolve.js';
import { sha256Of, workflowFromDefinition } from '../workflow/recorded.js';
import { createRunMachine, MACHINE_VERSION, type RunMachine } from './machine.js';
import { initialState, trackOf, type Phase, type RunState, type StepState, type StepStatus } from './state.js';
import { applyEvent, INITIAL_STATE, MACHINE_STATES, phaseOf, type MachineState } from './transitions.js';

export interface Folded {
  phase: Phase;
  state: RunState;
  defs: StepDef[];
}

/** Thrown when the events do not form a valid run; the caller adds the file path. */
export class JournalMismatch extends Error {}

export function stepsOf(first: EventOf<'RunStarted'>, id: string): StepDef[] {
  if (first.definition) return recordedSteps(first, first.definition, id);
  // format 1: the frozen built-in definitions (machines/*.ts) of the recorded name and version
  const wf = findWorkflow(first.workflow);
  if (!wf) throw new JournalMismatch(`unknown workflow ${JSON.stringify(first.workflow)}`);
  if (wf.version !== first.workflowVersion) {
    throw new JournalMismatch(`written by ${first.workflow} version ${first.workflowVersion}; this flow has version ${wf.version}`);
  }
  let params;
  try {
    params = wf.parseParams(first.params);
  } catch (err) {
    throw new JournalMismatch(`params do not validate: ${(err as Error).message}`);
  }
  const defs = wf.steps(params, id);
  const names = defs.map((d) => d.name);
  if (names.join(',') !== first.steps.join(',')) {
    throw new JournalMismatch(`recorded steps [${first.steps.join(', ')}] differ from the workflow's [${names.join(', ')}]`);
  }
  return defs;
}

/** The steps of a run that recorded its definition: from the journal alone (src/workflow/source.ts). */
function recordedSteps(first: EventOf<'RunStarted'>, d: NonNullable<EventOf<'RunStarted'>['definition']>, id: string): StepDef[] {
  if (sha256Of(d.workflow) !== d.sha256) throw new JournalMismatch('the recorded workflow definition does not match its sha256');
  let defs: StepDef[];
  try {
    defs = instantiate(workflowFromDefinition(d.workflow, `run ${id}'s definition`), d.params as Record<string, Value>, { id, ...d.run }).steps;
  } catch (err) {
    throw new JournalMismatch(`the recorded workflow definition does not give the run's steps: ${(err as Error).message}`);
  }
  const names = defs.map((x) => x.name);
  if (names.join(',') !== first.steps.join(',')) throw new JournalMismatch(`recorded steps [${first.steps.join(', ')}] differ from the definition's [${names.join(', ')}]`);
  return defs;
}

/** A run's machine state and data; persisted events are fed one by one, new ones accepted by xstate first. */
export class RunCursor implements Folded {
  readonly defs: StepDef[];
  private readonly id: string;
  private value: MachineState;
  private context: RunState;
  /** the xstate machine and its inert scope, made at the first `accept` (a read-only command never needs them) */
  private xstate?: { machine: RunMachine; scope: ActorScope<SnapshotFrom<RunMachine>, EventFromLogic<RunMachine>> };

  /**
   * `defs`: the run's steps when the caller has them (tests, the bench); otherwise from the
   * RunStarted. `saved`: a checkpoint's fold (`save()`) to start from instead of the first
   * event; JournalMismatch when it is not one of this run's states.
   */
  constructor(id: string, first: EventOf<'RunStarted'>, defs?: StepDef[], saved?: unknown) {
    this.id = id;
    this.defs = defs ?? stepsOf(first, id);
    if (saved === undefined) {
      this.value = INITIAL_STATE;
      this.context = initialState(first, id, this.defs);
    } else {
      const r = restored(saved, first, id, this.defs);
      this.value = r.value;
      this.context = r.context;
    }
  }

  /** The folded state as plain data, for a checkpoint (journal/checkpoint.ts): what `saved` takes back. */
  save(): SavedFold {
    const { steps, track: _t, definition: _d, params: _p, ...rest } = this.context;
    // the keys in their order (undefined-valued ones too), so the restored state is the same object shape as a whole fold's
    const ctx = this.context;
    return { machine: MACHINE_VERSION, value: this.value, keys: Object.keys(ctx), state: { ...rest, steps: steps.map((st) => stepKeys(st)) } };
  }

  get phase(): Phase {
    return phaseOf(this.value);
  }

  get state(): RunState {
    return this.context;
  }

  /** Feeds one persisted event (O(1) amortized: state.ts); throws JournalMismatch when the machine's table does not accept it. */
  feed(e: FlowEvent): void {
    const next = applyEvent(this.value, this.context, e);
    if (!next) throw this.mismatch(e);
    this.value = next.value;
    this.context = next.context;
  }

  /**
   * Checks a new event `e` with the xstate machine without changing the cursor (its guards
   * only: the fold updates the steps in place, so the transition itself runs at commit);
   * returns what commits it (xstate's transition). Throws JournalMismatch when the machine
   * does not accept it.
   */
  accept(e: FlowEvent): () => void {
    this.xstate ??= xstateOf(createRunMachine(this.defs, this.id));
    const { machine, scope } = this.xstate;
    const from = machine.resolveState({ value: this.value, context: this.context });
    if (!from.can(e)) throw this.mismatch(e);
    const at = this.context;
    return () => {
      if (this.context !== at) throw new Error('RunCursor: another event was fed between accept and commit');
      const next = machine.transition(from, e, scope);
      if (next === from) throw this.mismatch(e);
      this.value = next.value as MachineState;
      this.context = next.context;
    };
  }

  private mismatch(e: FlowEvent): JournalMismatch {
    return new JournalMismatch(`event ${e.seq} (${e.type}${'step' in e ? ` ${e.step}` : ''}) does not fit the run at this point (phase ${this.phase})`);
  }
}

const xstateOf = (machine: RunMachine) => ({ machine, scope: inertScope(machine) });

/**
 * What xstate's pure `transition()` does, with the actor scope made once per run instead of
 * once per event (transition() builds a throwaway actor, its system and its initial state
 * for every call: most of an event's cost). Nothing runs: the machine has no effectful
 * actions (assign is applied inline), and what an action would execute is dropped.
 */
function inertScope(machine: RunMachine): ActorScope<SnapshotFrom<RunMachine>, EventFromLogic<RunMachine>> {
  const self = createActor(machine as unknown as AnyStateMachine) as unknown as ActorScope<SnapshotFrom<RunMachine>, EventFromLogic<RunMachine>>['self'];
  const none = () => undefined;
  return { self, id: '', sessionId: '', logger: none, defer: none, stopChild: none, emit: none, actionExecutor: none, system: self.system };
}

/**
 * Folds a whole journal: O(events) (plus O(steps) once, to build the run's steps). With a
 * checkpoint (the fold of the first `events` events, journal/checkpoint.ts) only the events
 * after it are fed; a checkpoint that does not fit is ignored and the journal folded whole.
 */
export function fold(id: string, events: readonly FlowEvent[], checkpoint?: { events: number; fold: unknown }): RunCursor {
  const first = events[0];
  if (!first || first.type !== 'RunStarted') throw new JournalMismatch('the first event is not RunStarted');
  if (checkpoint && checkpoint.events <= events.length) {
    try {
      const cursor = new RunCursor(id, first, undefined, checkpoint.fold);
      if (cursor.state.lastSeq !== checkpoint.events - 1) throw new JournalMismatch('the checkpoint is not at its last event');
      for (let i = checkpoint.events; i < events.length; i++) cursor.feed(events[i]!);
      return cursor;
    } catch (err) {
      if (!(err instanceof JournalMismatch)) throw err;
      // folded whole below: the events decide (a real mismatch is reported from there)
    }
  }
  const cursor = new RunCursor(id, first);
  for (let i = 1; i < events.length; i++) cursor.feed(events[i]!);
  return cursor;
}

/** A fold as a checkpoint holds it: the machine's state and the run's data without what the journal's RunStarted and the steps' definitions give back. */
export interface SavedFold {
  machine: number;
  value: string;
  keys: string[];
  state: Omit<RunState, 'steps' | 'track' | 'definition' | 'params'> & { steps: (Omit<StepState, 'def'> & { keys: string[] })[] };
}

/** A step as saved: its data without its definition, and its keys in their order (`def` among them). */
function stepKeys(st: StepState): Omit<StepState, 'def'> & { keys: string[] } {
  const { def: _def, ...rest } = st;
  return { ...rest, keys: Object.keys(st) };
}

const STATES = new Set<string>(MACHINE_STATES);
const STATUSES = new Set<StepStatus>(['pending', 'intended', 'applied', 'failed', 'partial', 'undo-intended', 'undo-failed', 'undone']);

/** The machine state a SavedFold describes, checked against this run; JournalMismatch when it does not fit. */
function restored(saved: unknown, first: EventOf<'RunStarted'>, id: string, defs: StepDef[]): { value: MachineState; context: RunState } {
  const bad = (why: string) => new JournalMismatch(`checkpoint refused: ${why}`);
  const f = saved as Partial<SavedFold> | null;
  if (typeof f !== 'object' || f === null || f.machine !== MACHINE_VERSION || typeof f.value !== 'string' || !STATES.has(f.value)) throw bad('not a fold of this machine');
  const s = f.state;
  if (typeof s !== 'object' || s === null || s.id !== id || !Array.isArray(s.steps) || s.steps.length !== defs.length) throw bad('not this run');
  if (!Number.isSafeInteger(s.lastSeq) || s.workflow !== first.workflow || s.workflowVersion !== first.workflowVersion || s.created !== first.at || typeof s.bootId !== 'string') throw bad('not this run');
  if (!Array.isArray(f.keys) || !['id', 'steps', 'track', 'lastSeq'].every((k) => f.keys!.includes(k))) throw bad('no key order');
  const steps: StepState[] = s.steps.map((st, i) => {
    const keys = (st as { keys?: unknown }).keys;
    if (typeof st !== 'object' || st === null || st.name !== defs[i]!.name || !STATUSES.has(st.status) || typeof st.undoing !== 'boolean' || typeof st.lost !== 'boolean' || !Array.isArray(keys)) throw bad(`step ${i}`);
    const back: Record<string, unknown> = {};
    for (const k of keys as string[]) back[k] = k === 'def' ? defs[i] : (st as Record<string, unknown>)[k];
    return back as unknown as StepState;
  });
  const given: Record<string, unknown> = { params: first.params, steps, track: trackOf(steps), definition: first.definition };
  const context: Record<string, unknown> = {};
  for (const k of f.keys) context[k] = Object.hasOwn(given, k) ? given[k] : (s as Record<string, unknown>)[k];
  return { value: f.value as MachineState, context: context as unknown as RunState };
}
