/**
 * fold(events) → the run's phase and state, by feeding every journal event through the
 * workflow's machine with xstate's pure `transition()`. An event the machine does not
 * accept means the journal does not fit the machine: it is reported as corrupt.
 */
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
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
  private snap: SnapshotFrom<RunMachine>;

  constructor(id: string, first: EventOf<'RunStarted'>) {
    this.defs = stepsOf(first, id);
    this.machine = createRunMachine(this.defs, id);
    [this.snap] = initialTransition(this.machine, { first });
  }

  get phase(): Phase {
    return phaseOf(this.snap.value);
  }

  get state(): RunState {
    return this.snap.context;
  }

  /** Feeds one event; throws JournalMismatch when the machine does not accept it. */
  feed(e: FlowEvent): void {
    this.accept(e)();
  }

  /**
   * Checks `e` against the machine without changing the cursor; returns what commits it.
   * Throws JournalMismatch when the machine does not accept it.
   */
  accept(e: FlowEvent): () => void {
    const [next] = transition(this.machine, this.snap, e);
    if (next === this.snap) {
      throw new JournalMismatch(`event ${e.seq} (${e.type}${'step' in e ? ` ${e.step}` : ''}) does not fit the run at this point (phase ${this.phase})`);
    }
    const from = this.snap;
    return () => {
      if (this.snap !== from) throw new Error('RunCursor: another event was fed between accept and commit');
      this.snap = next;
    };
  }
}

/** Folds a whole journal. */
export function fold(id: string, events: readonly FlowEvent[]): RunCursor {
  const first = events[0];
  if (!first || first.type !== 'RunStarted') throw new JournalMismatch('the first event is not RunStarted');
  const cursor = new RunCursor(id, first);
  for (const e of events.slice(1)) cursor.feed(e);
  return cursor;
}
