/**
 * An open run: its journal and the machine folded over it. `append` checks an event
 * against the machine first (one it refuses is a bug in the runner: it is never written,
 * so a bug cannot make a journal corrupt), makes it durable, moves the machine on, then
 * tells the observer, so anything shown to the user is already in the journal.
 * A write that failed after replacing the document (the directory fsync) leaves memory
 * as the disk: the event is in both, and the journal refuses any further write.
 */
import path from 'node:path';
import { CorruptJournalError, JournalWriteError } from '../errors.js';
import type { EventBody, FlowEvent } from '../../journal/events.js';
import type { RunJournal } from '../../journal/run-journal.js';
import type { Json } from '../../machines/types.js';
import { fold, JournalMismatch, type RunCursor } from './fold.js';
import type { Phase, RunState, StepState } from './state.js';

/** Events folded past the last checkpoint that make one worth writing (a write costs about what folding ~100 events does). */
export const CHECKPOINT_EVERY = 256;

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
      return new Session(journal, fold(journal.id, journal.events, journal.checkpoint), observe);
    } catch (err) {
      if (err instanceof JournalMismatch) throw new CorruptJournalError(journal.path, err.message);
      throw err;
    }
  }

  get id(): string {
    return this.journal.id;
  }

  /**
   * Ends this process's writing (call before the run lock is released): writes a fold
   * checkpoint when at least CHECKPOINT_EVERY events were folded past the last one (a long
   * log then opens by folding only what follows it), and closes the log's descriptor.
   */
  async close(checkpoint = true): Promise<void> {
    try {
      if (checkpoint && this.journal.events.length - (this.journal.checkpoint?.events ?? 0) >= CHECKPOINT_EVERY) await this.journal.saveCheckpoint(this.cursor.save());
    } catch {
      // a cache: a checkpoint that cannot be made never fails the command (nor hides its error)
    } finally {
      await this.journal.close();
    }
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
    let e: FlowEvent;
    let commit: (() => void) | undefined;
    const before = this.journal.events.length;
    try {
      e = await this.journal.append(body, point, (ev) => {
        try {
          commit = this.cursor.accept(ev);
        } catch (err) {
          // a bug in flow (the runner asked for an event its own machine refuses): nothing is written
          if (err instanceof JournalMismatch) throw new Error(`internal error in run ${this.id}: ${err.message}; nothing was written, the journal is intact`);
          throw err;
        }
      });
    } catch (err) {
      // the document was replaced but may not be durable: memory follows the disk, then stop
      if (commit && this.journal.events.length > before) commit();
      throw err instanceof JournalWriteError ? explained(err, this.id, body, this.journal.failure === err) : err;
    }
    commit!();
    this.observe?.(e, this.state, this.phase);
    return e;
  }
}

/** Events that record what a command did: when one cannot be written, its step is in doubt. */
const OUTCOMES = new Set<EventBody['type']>(['StepSucceeded', 'StepFailed', 'UndoSucceeded', 'UndoFailed', 'StepCleaned']);
const INTENTS = new Set<EventBody['type']>(['StepIntended', 'UndoIntended']);

/** A failed journal write, saying what it means for the run: which step did not start, or which is in doubt. */
function explained(err: JournalWriteError, id: string, body: EventBody, unsynced = false): JournalWriteError {
  const stateDir = path.dirname(path.dirname(err.path));
  const fix = `free space on (or repair) the filesystem of the state directory ${stateDir}, then`;
  if (unsynced) {
    // fsyncgate: the event is in the document, maybe not on the disk; flow stops here
    const what = 'step' in body ? ` (${body.type} ${body.step})` : ` (${body.type})`;
    return new JournalWriteError(
      err.path,
      err.code,
      err.detail,
      `the journal's last event${what} was written but the filesystem failed to make it durable; flow stopped and started nothing more. ${fix} \`flow resume ${id}\` or \`flow rollback ${id}\`: flow reads the journal as the disk holds it and asks the kernel about any step in doubt`,
    );
  }
  const step = 'step' in body ? body.step : undefined;
  let hint = `${fix} \`flow resume ${id}\` or \`flow rollback ${id}\``;
  if (step && INTENTS.has(body.type)) {
    hint = `${body.type === 'UndoIntended' ? `the undo of ${step}` : `step ${step}`} did not start; ${hint}`;
  } else if (step && OUTCOMES.has(body.type)) {
    hint = `${body.type.startsWith('Undo') ? `the undo of ${step}` : `step ${step}`} ran, but its outcome is not recorded: ${step} is in doubt; ${fix} \`flow rollback ${id}\` or \`flow resume ${id}\` (flow asks the kernel what it did)`;
  }
  return new JournalWriteError(err.path, err.code, err.detail, hint);
}
