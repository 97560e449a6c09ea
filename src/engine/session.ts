/**
 * An open run: its journal and the machine folded over it. `append` makes an event
 * durable, then feeds it to the machine (an event the machine refuses is a bug in the
 * runner, never written twice), then tells the observer, so anything shown to the user
 * is already in the journal.
 */
import { CorruptJournalError } from '../errors.js';
import type { EventBody, FlowEvent } from '../../journal/events.js';
import type { RunJournal } from '../../journal/run-journal.js';
import type { Json } from '../../machines/types.js';
import { fold, JournalMismatch, type RunCursor } from './fold.js';
import type { Phase, RunState, StepState } from './state.js';

export type EventObserver = (e: FlowEvent, state: RunState, phase: Phase) => void;

export class Session {
  private constructor(
    readonly journal: RunJournal,
    private readonly cursor: RunCursor,
    private readonly observe?: EventObserver,
  ) {}

  /** Folds the journal; a journal the machine refuses is reported as corrupt. */
  static open(journal: RunJournal, observe?: EventObserver): Session {
    try {
      return new Session(journal, fold(journal.id, journal.events), observe);
    } catch (err) {
      if (err instanceof JournalMismatch) throw new CorruptJournalError(journal.path, err.message);
      throw err;
    }
  }

  get id(): string {
    return this.journal.id;
  }

  get phase(): Phase {
    return this.cursor.phase;
  }

  get state(): RunState {
    return this.cursor.state;
  }

  step(name: string): StepState {
    const st = this.state.steps.find((s) => s.name === name);
    if (!st) throw new Error(`no step ${name}`);
    return st;
  }

  /** Outputs of the applied steps, by name (what later steps' args are built from). */
  outputs(): Record<string, Json | undefined> {
    return Object.fromEntries(this.state.steps.filter((s) => s.status === 'applied').map((s) => [s.name, s.outputs]));
  }

  async append(body: EventBody, point?: string): Promise<FlowEvent> {
    const e = await this.journal.append(body, point);
    this.cursor.feed(e);
    this.observe?.(e, this.state, this.phase);
    return e;
  }
}
