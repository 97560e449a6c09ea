/**
 * One run's journal, `runs/<id>.json`, as a lowdb document ({format, id, events}). New
 * runs are format 2: an append-only log (journal/run-log.ts: AppendLog appends what is new,
 * one fdatasync per event). A format-1 document written by older flow is continued in
 * format 1 (DurableJsonFile rewrites it whole for each event, as older flow did). Either
 * way an append is durable when `append` resolves. Appends are serialised by the run lock
 * the caller holds.
 */
import { Low } from 'lowdb';
import { CorruptJournalError, JournalWriteError } from '../src/errors.js';
import { DurableJsonFile } from './durable-file.js';
import type { JournalContext } from './durability.js';
import { JOURNAL_FORMAT, eventSchema, type EventBody, type FlowEvent, type JournalFormat, type RunDocument } from './events.js';
import { AppendLog, checkDocument, logBytes, readRunFile } from './run-log.js';
import { writeCheckpoint, type Checkpoint } from './checkpoint.js';

type RunFile = (AppendLog | DurableJsonFile<RunDocument>) & { nextPoint: string | undefined; readonly mustStop: boolean; readonly path: string };

export class RunJournal {
  /** The write that failed after its record may have reached the disk (fsyncgate): no further write from this process. */
  private broken: JournalWriteError | undefined;

  private constructor(
    private readonly db: Low<RunDocument>,
    private readonly adapter: RunFile,
    private readonly ctx: JournalContext,
    private readonly now: () => string,
    /** the fold checkpoint the log was read through (format 2), if one matched */
    readonly checkpoint?: Checkpoint,
  ) {}

  get id(): string {
    return this.db.data.id;
  }

  get path(): string {
    return this.adapter.path;
  }

  /** The on-disk format: 2 (a log) for runs this flow started, 1 for a document an older flow wrote. */
  get format(): JournalFormat {
    return this.db.data.format;
  }

  /** The events, oldest first. */
  get events(): readonly FlowEvent[] {
    return this.db.data.events;
  }

  /** Reads and validates a run's journal (either format); null when it does not exist. */
  static async load(ctx: JournalContext, file: string, id: string, now: () => string): Promise<RunJournal | null> {
    const read = await readRunFile(ctx, file, id, true);
    if (!read) return null;
    const adapter: RunFile = read.format === 2 ? new AppendLog(ctx, file, id, read) : new DurableJsonFile<RunDocument>(ctx, file, (raw) => checkDocument(raw, id));
    const db = new Low<RunDocument>(adapter, read.doc);
    return new RunJournal(db, adapter, ctx, now, read.checkpoint);
  }

  /**
   * Writes a fold checkpoint for the events in memory (journal/checkpoint.ts), when this is a
   * healthy log whose file holds exactly flow's serialisation of them (so the checkpoint's
   * prefix can be read back without validating it record by record). Best effort: false
   * when not written.
   */
  async saveCheckpoint(fold: unknown): Promise<boolean> {
    if (this.format !== 2 || this.broken) return false;
    const prefix = logBytes(this.id, this.events);
    let disk: Buffer;
    try {
      disk = await this.ctx.fs.readFile(this.path, { noFollow: true });
    } catch {
      return false;
    }
    if (disk.length < prefix.length || !disk.subarray(0, prefix.length).equals(prefix)) return false;
    return writeCheckpoint(this.ctx, this.path, this.id, prefix, this.events.length, fold);
  }

  /** Writes a new log holding only `first` (a RunStarted of the current format). */
  static async create(ctx: JournalContext, file: string, id: string, first: EventBody, now: () => string, point?: string): Promise<RunJournal> {
    const adapter = new AppendLog(ctx, file, id);
    const db = new Low<RunDocument>(adapter, { format: JOURNAL_FORMAT, id, events: [] });
    const j = new RunJournal(db, adapter, ctx, now);
    await j.append(first, point);
    return j;
  }

  /** Closes the log's descriptor kept open across appends (before the run lock is released); a later append opens it again. */
  async close(): Promise<void> {
    if (this.adapter instanceof AppendLog) await this.adapter.close();
  }

  /** The write error after which this journal refuses to write (see `append`); undefined while healthy. */
  get failure(): JournalWriteError | undefined {
    return this.broken;
  }

  /**
   * Numbers, stamps, validates and durably appends one event. `check` sees the event
   * first (the run's machine): an event it refuses is never written. With `point`, the
   * crash hook is called at `<point>-appended` (format 2: the record written, not synced;
   * the first event and format 1: `<point>-written` and `<point>-renamed`) and at
   * `<point>-synced`.
   *
   * A write that failed before a complete record reached the file (or before a rename)
   * left no event on disk: the event is dropped. One that failed after (the fdatasync, a
   * directory fsync: fsyncgate) left the event in place but maybe not durable: the event
   * stays in memory, as on disk, and every later append fails without writing, so this
   * process never writes after a record whose durability it does not know. The next open
   * reads what the disk holds.
   */
  async append(body: EventBody, point?: string, check?: (e: FlowEvent) => void): Promise<FlowEvent> {
    if (this.broken) {
      throw new JournalWriteError(this.path, this.broken.code, `an earlier write of this journal failed after its event reached the file (${this.broken.detail}); flow stopped writing it`);
    }
    const event = eventSchema().parse({ ...body, seq: this.db.data.events.length, at: this.now() });
    check?.(event);
    this.db.data.events.push(event);
    this.adapter.nextPoint = point;
    try {
      await this.db.write();
    } catch (err) {
      if (this.adapter.mustStop && err instanceof JournalWriteError) {
        this.broken = err;
        throw err;
      }
      this.db.data.events.pop();
      throw err;
    }
    if (point) this.ctx.crash?.(`${point}-synced`);
    return event;
  }
}

export { CorruptJournalError };
/** Format-1 validation (kept here for callers that import it from the journal). */
export { checkDocument } from './run-log.js';
