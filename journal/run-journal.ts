/**
 * One run's journal: a lowdb document `runs/<id>.json` ({format, id, events}) written
 * through DurableJsonFile, so an append is durable when `append` resolves. Appends are
 * serialised by the run lock the caller holds.
 */
import { Low } from 'lowdb';
import { CorruptJournalError, JournalWriteError } from '../src/errors.js';
import { DurableJsonFile } from './durable-file.js';
import type { JournalContext } from './durability.js';
import { JOURNAL_FORMAT, eventSchema, runDocumentSchema, type EventBody, type FlowEvent, type RunDocument } from './events.js';

export class RunJournal {
  /** The write that failed after its rename (fsyncgate): no further write from this process. */
  private broken: JournalWriteError | undefined;

  private constructor(
    private readonly db: Low<RunDocument>,
    private readonly adapter: DurableJsonFile<RunDocument>,
    private readonly ctx: JournalContext,
    private readonly now: () => string,
  ) {}

  get id(): string {
    return this.db.data.id;
  }

  get path(): string {
    return this.adapter.path;
  }

  /** The events, oldest first. */
  get events(): readonly FlowEvent[] {
    return this.db.data.events;
  }

  /** Reads and validates a run document; null when it does not exist. */
  static async load(ctx: JournalContext, file: string, id: string, now: () => string): Promise<RunJournal | null> {
    const adapter = new DurableJsonFile<RunDocument>(ctx, file, (raw) => checkDocument(raw, id));
    const db = new Low<RunDocument>(adapter, { format: JOURNAL_FORMAT, id, events: [] });
    await db.read();
    if (db.data.events.length === 0) return null;
    return new RunJournal(db, adapter, ctx, now);
  }

  /** Writes a new document holding only `first` (a RunStarted). */
  static async create(ctx: JournalContext, file: string, id: string, first: EventBody, now: () => string, point?: string): Promise<RunJournal> {
    const adapter = new DurableJsonFile<RunDocument>(ctx, file, (raw) => checkDocument(raw, id));
    const db = new Low<RunDocument>(adapter, { format: JOURNAL_FORMAT, id, events: [] });
    const j = new RunJournal(db, adapter, ctx, now);
    await j.append(first, point);
    return j;
  }

  /** The write error after which this journal refuses to write (see `append`); undefined while healthy. */
  get failure(): JournalWriteError | undefined {
    return this.broken;
  }

  /**
   * Numbers, stamps, validates and durably appends one event. `check` sees the event
   * first (the run's machine): an event it refuses is never written. With `point`, the
   * crash hook is called at `<point>-written`, `<point>-renamed` and `<point>-synced`.
   *
   * A write that failed before its rename changed nothing on disk: the event is dropped.
   * One that failed after it (the directory fsync: fsyncgate) left the new document in
   * place but maybe not durable: the event stays in memory, as on disk, and every later
   * append fails without writing, so this process never writes a document over one whose
   * durability it does not know. The next open reads what the disk holds.
   */
  async append(body: EventBody, point?: string, check?: (e: FlowEvent) => void): Promise<FlowEvent> {
    if (this.broken) {
      throw new JournalWriteError(this.path, this.broken.code, `an earlier write of this journal failed after replacing it (${this.broken.detail}); flow stopped writing it`);
    }
    const event = eventSchema.parse({ ...body, seq: this.db.data.events.length, at: this.now() });
    check?.(event);
    this.db.data.events.push(event);
    this.adapter.nextPoint = point;
    try {
      await this.db.write();
    } catch (err) {
      if (this.adapter.replacedUnsynced && err instanceof JournalWriteError) {
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

/** Validates a document read back: schema, id, and gap-free sequence numbers starting with RunStarted. */
export function checkDocument(raw: unknown, id: string): RunDocument {
  const doc = runDocumentSchema.parse(raw);
  if (doc.id !== id) throw new Error(`document id ${JSON.stringify(doc.id)} does not match file name ${id}`);
  doc.events.forEach((e, i) => {
    if (e.seq !== i) throw new Error(`event ${i} has sequence number ${e.seq}`);
  });
  if (doc.events[0]?.type !== 'RunStarted') throw new Error('first event is not RunStarted');
  if (doc.events.slice(1).some((e) => e.type === 'RunStarted')) throw new Error('RunStarted appears twice');
  return doc;
}

export { CorruptJournalError };
