/**
 * fold(events) → the run's phase and state, by feeding every journal event through the
 * workflow's machine with xstate's pure `transition()`. An event the machine does not
 * accept means the journal does not fit the machine: it is reported as corrupt.
 */
import { createActor, initialTransition, type ActorScope, type AnyStateMachine, type EventFromLogic, type SnapshotFrom } from 'xstate';
import type { EventOf, FlowEvent } from '../../journal/events.js';
import { findWorkflow } from '../../machines/index.js';
import type { StepDef } from '../../machines/types.js';
import type { Value } from '../workflow/evaluate.js';
import { instantiate } from '../workflow/resolve.js';
import { sha256Of, workflowFromDefinition } from '../workflow/recorded.js';
import { createRunMachine, phaseOf, type RunMachine } from './machine.js';
import type { Phase, RunState } from './state.js';

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

/** A run's machine and its current snapshot; events are fed one by one. */
export class RunCursor implements Folded {
  readonly defs: StepDef[];
  private readonly machine: RunMachine;
  private readonly scope: ActorScope<SnapshotFrom<RunMachine>, EventFromLogic<RunMachine>>;
  private snap: SnapshotFrom<RunMachine>;

  /** `defs`: the run's steps when the caller has them (tests, the bench); otherwise from the RunStarted. */
  constructor(id: string, first: EventOf<'RunStarted'>, defs?: StepDef[]) {
    this.defs = defs ?? stepsOf(first, id);
    this.machine = createRunMachine(this.defs, id);
    [this.snap] = initialTransition(this.machine, { first });
    this.scope = inertScope(this.machine);
  }

  get phase(): Phase {
    return phaseOf(this.snap.value);
  }

  get state(): RunState {
    return this.snap.context;
  }

  /** Feeds one event (O(1) amortized: state.ts); throws JournalMismatch when the machine does not accept it. */
  feed(e: FlowEvent): void {
    const next = this.machine.transition(this.snap, e, this.scope);
    if (next === this.snap) throw this.mismatch(e);
    this.snap = next;
  }

  /**
   * Checks `e` against the machine without changing the cursor (its guards only: the
   * fold updates the steps in place, so the transition itself runs at commit); returns
   * what commits it. Throws JournalMismatch when the machine does not accept it.
   */
  accept(e: FlowEvent): () => void {
    if (!this.snap.can(e)) throw this.mismatch(e);
    const from = this.snap;
    return () => {
      if (this.snap !== from) throw new Error('RunCursor: another event was fed between accept and commit');
      this.feed(e);
    };
  }

  private mismatch(e: FlowEvent): JournalMismatch {
    return new JournalMismatch(`event ${e.seq} (${e.type}${'step' in e ? ` ${e.step}` : ''}) does not fit the run at this point (phase ${this.phase})`);
  }
}

/**
 * What xstate's pure `transition()` does, with the actor scope made once per run instead of
 * once per event (transition() builds a throwaway actor, its system and its initial state
 * for every call: most of an event's cost). Nothing runs: the machine has no effectful
 * actions (assign is applied inline), and what an action would execute is dropped.
 */
function inertScope(machine: RunMachine): ActorScope<SnapshotFrom<RunMachine>, EventFromLogic<RunMachine>> {
  const self = createActor(machine as AnyStateMachine) as unknown as ActorScope<SnapshotFrom<RunMachine>, EventFromLogic<RunMachine>>['self'];
  const none = () => undefined;
  return { self, id: '', sessionId: '', logger: none, defer: none, stopChild: none, emit: none, actionExecutor: none, system: self.system };
}

/** Folds a whole journal: O(events) (plus O(steps) once, to build the run's steps). */
export function fold(id: string, events: readonly FlowEvent[]): RunCursor {
  const first = events[0];
  if (!first || first.type !== 'RunStarted') throw new JournalMismatch('the first event is not RunStarted');
  const cursor = new RunCursor(id, first);
  for (let i = 1; i < events.length; i++) cursor.feed(events[i]!);
  return cursor;
}
