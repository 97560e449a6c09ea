/**
 * A run's journal file, format 2: an append-only log of JSON lines, `runs/<id>.json`:
 *   {"format":2,"id":"<id>"}          the header
 *   {"seq":0,"type":"RunStarted",...}  one event per line, oldest first
 * Created whole (header + RunStarted) through a temp file and a rename, so a log always
 * holds its RunStarted (fsync 'doc-file', directory fsync 'doc-dir', once); every later
 * event is appended in one write and made durable by one fdatasync ('log-append'), through
 * a descriptor kept open across the appends of one process (AppendLog.close ends it).
 *
 * Reading tolerates only a torn FINAL record: bytes after the last newline (a power cut
 * during an append leaves a prefix of the record, or zeros). They are ignored, and cut
 * off before the next append (the writer holds the run lock). Any other defect, a torn
 * or invalid middle record included, is a CorruptJournalError naming the path and the
 * line; a corrupt log is never written to.
 *
 * A format-1 file (one whole JSON document, written by older flow) is read here too, and
 * continued in format 1 (DurableJsonFile rewrites it whole, as older flow did).
 */
import { CorruptJournalError, JournalWriteError } from '../src/errors.js';
import { hasCode } from '../src/fs/types.js';
import type { Adapter } from 'lowdb';
import type { FileHandle } from '../src/fs/types.js';
import { readCheckpoint, type Checkpoint, type CheckpointKey } from './checkpoint.js';
import { replaceFile, validationDetail } from './durable-file.js';
import { CrashSignal, maybeSync, type JournalContext } from './durability.js';
import { eventSchema, runDocumentSchema, type FlowEvent, type JournalFormat, type RunDocument } from './events.js';

/** A run file read back. */
export interface RunFileContents {
  doc: RunDocument;
  format: JournalFormat;
  /** format 2: length of the header and the complete records */
  validBytes: number;
  /** format 2: length of a torn final record after them (0 when none) */
  tornBytes: number;
  /** format 2, when asked for: the fold checkpoint that matches the log (its prefix was read through it) */
  checkpoint?: Checkpoint;
}

const NL = 0x0a;

/**
 * Reads and validates a run file of either format; null when it does not exist. With
 * `useCheckpoint`, a log's prefix covered by a matching fold checkpoint is read through it.
 */
export async function readRunFile(ctx: JournalContext, file: string, id: string, useCheckpoint = false): Promise<RunFileContents | null> {
  let st;
  try {
    st = await ctx.fs.lstat(file);
  } catch (err) {
    if (hasCode(err, 'ENOENT')) return null;
    throw err;
  }
  if (st.kind !== 'file') throw new CorruptJournalError(file, `not a regular file (${st.kind}); flow does not follow links here`);
  const bytes = await ctx.fs.readFile(file, { noFollow: true });
  const cp = useCheckpoint && headerOf(bytes) ? await readCheckpoint(ctx, file, id, bytes) : undefined;
  if (cp) {
    try {
      return { ...parseRunFile(bytes, id, file, cp), checkpoint: cp };
    } catch (err) {
      if (err instanceof CorruptJournalError) throw err;
      // a checkpoint whose prefix does not read back as it says: ignored, the log is read whole
    }
  }
  return parseRunFile(bytes, id, file);
}

/** The header line of a format-2 log, or undefined when `bytes` does not start with one. */
function headerOf(bytes: Buffer): { format: 2; id: unknown } | undefined {
  const end = bytes.indexOf(NL);
  if (end < 0) return undefined;
  let h: unknown;
  try {
    h = JSON.parse(bytes.subarray(0, end).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof h !== 'object' || h === null || Array.isArray(h) || (h as { format?: unknown }).format !== 2 || 'events' in h) return undefined;
  return h as { format: 2; id: unknown };
}

/**
 * Parses a run file's bytes (either format); CorruptJournalError on any defect but a torn
 * final record. `trusted`: a log prefix a matching checkpoint covers (journal/checkpoint.ts),
 * read with one JSON.parse; the records after it are validated one by one as always.
 */
export function parseRunFile(bytes: Buffer, id: string, file: string, trusted?: CheckpointKey): RunFileContents {
  const header = headerOf(bytes);
  if (header) return parseLog(bytes, header, id, file, trusted);
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    const what = bytes.length === 0 ? 'empty file' : `not JSON (${(err as Error).message})`;
    throw new CorruptJournalError(file, what);
  }
  let doc: RunDocument;
  try {
    doc = checkDocument(raw, id);
    if (doc.format !== 1) throw new Error(`a whole-document journal must be format 1 (found ${doc.format})`);
  } catch (err) {
    throw new CorruptJournalError(file, `does not validate: ${validationDetail(err)}`);
  }
  return { doc, format: 1, validBytes: bytes.length, tornBytes: 0 };
}

function parseLog(bytes: Buffer, header: { format: 2; id: unknown }, id: string, file: string, trusted?: CheckpointKey): RunFileContents {
  const bad = (line: number, what: string) => new CorruptJournalError(file, `line ${line}: ${what}`);
  if (Object.keys(header).sort().join(',') !== 'format,id') throw bad(1, 'the header holds fields other than format and id');
  if (header.id !== id) throw bad(1, `log id ${JSON.stringify(header.id)} does not match file name ${id}`);
  const lastNl = bytes.lastIndexOf(NL);
  const validBytes = lastNl + 1;
  let events: FlowEvent[] = [];
  let start = bytes.indexOf(NL) + 1;
  let line = 2;
  if (trusted && trusted.bytes <= validBytes) {
    // records flow validated and serialised itself (the checkpoint's hash says these are its bytes)
    const text = bytes.subarray(start, trusted.bytes - 1).toString('utf8');
    events = JSON.parse(`[${text.replaceAll('\n', ',')}]`) as FlowEvent[];
    if (events.length !== trusted.events) throw new Error(`internal error: checkpoint of ${file} covers ${trusted.events} events, its prefix holds ${events.length}`);
    start = trusted.bytes;
    line += events.length;
  }
  for (; start < validBytes; line++) {
    const end = bytes.indexOf(NL, start);
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.subarray(start, end).toString('utf8'));
    } catch (err) {
      // a complete line (it has its newline) that is not JSON is not a torn append
      throw bad(line, `not JSON (${(err as Error).message})`);
    }
    const r = eventSchema().safeParse(raw);
    if (!r.success) throw bad(line, `does not validate: ${validationDetail(r.error)}`);
    const e = r.data;
    if (e.seq !== events.length) throw bad(line, `event ${events.length} has sequence number ${e.seq}`);
    if ((e.type === 'RunStarted') !== (events.length === 0)) throw bad(line, events.length === 0 ? 'first event is not RunStarted' : 'RunStarted appears twice');
    if (e.type === 'RunStarted' && e.format !== 2) throw bad(line, `RunStarted records format ${e.format} in a format-2 log`);
    events.push(e);
    start = end + 1;
  }
  if (events.length === 0) throw new CorruptJournalError(file, 'the log holds no complete RunStarted');
  return { doc: { format: 2, id, events }, format: 2, validBytes, tornBytes: bytes.length - validBytes };
}

/** Validates a format-1 document read back: schema, id, and gap-free sequence numbers starting with RunStarted. */
export function checkDocument(raw: unknown, id: string): RunDocument {
  const doc = runDocumentSchema().parse(raw);
  if (doc.id !== id) throw new Error(`document id ${JSON.stringify(doc.id)} does not match file name ${id}`);
  doc.events.forEach((e, i) => {
    if (e.seq !== i) throw new Error(`event ${i} has sequence number ${e.seq}`);
  });
  if (doc.events[0]?.type !== 'RunStarted') throw new Error('first event is not RunStarted');
  if (doc.events.slice(1).some((e) => e.type === 'RunStarted')) throw new Error('RunStarted appears twice');
  if (doc.events[0].format !== doc.format) throw new Error(`RunStarted records format ${doc.events[0].format} in a format-${doc.format} document`);
  return doc;
}

/**
 * The RunStarted a run file records, read WITHOUT validation (for a corrupt journal's
 * `--key`): a log's second line, or a format-1 document's first event; undefined when
 * it cannot be read.
 */
export function rawRunStarted(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const at = headerOf(bytes) ? bytes.indexOf(NL) + 1 : -1;
    const first = at >= 0 ? JSON.parse(bytes.subarray(at, bytes.indexOf(NL, at) < 0 ? bytes.length : bytes.indexOf(NL, at)).toString('utf8')) : JSON.parse(bytes.toString('utf8'))?.events?.[0];
    return first && typeof first === 'object' && !Array.isArray(first) ? first : undefined;
  } catch {
    return undefined;
  }
}

/** The bytes of a new log holding `events` (header first). */
export function logBytes(id: string, events: readonly FlowEvent[]): Buffer {
  return Buffer.from([JSON.stringify({ format: 2, id }), ...events.map((e) => JSON.stringify(e))].join('\n') + '\n', 'utf8');
}

/**
 * The lowdb adapter of a format-2 log: `write` appends the events it has not written yet
 * (lowdb hands it the whole document; the log's records are never rewritten).
 */
export class AppendLog implements Adapter<RunDocument> {
  /** Prefix of the crash points hit by the next write. */
  nextPoint: string | undefined;
  /**
   * Set when a write failed after a complete record may have reached the file (its
   * fdatasync failed: fsyncgate). The caller must stop writing.
   */
  mustStop = false;
  /** events in the file */
  private onDisk: number;
  private validBytes: number;
  /** bytes past validBytes to cut off before the next append (a torn record, or a failed write's remains) */
  private tail: boolean;
  /**
   * The log, open for writing from the first append until `close` (the caller holds the
   * run lock meanwhile): an append is then one write and one fdatasync, no open/close.
   * Dropped (closed) after any failed append, so the next one starts from a fresh open.
   */
  private fh: FileHandle | undefined;

  constructor(
    private readonly ctx: JournalContext,
    readonly path: string,
    private readonly id: string,
    read?: RunFileContents,
  ) {
    this.onDisk = read?.doc.events.length ?? 0;
    this.validBytes = read?.validBytes ?? 0;
    this.tail = (read?.tornBytes ?? 0) > 0;
  }

  async read(): Promise<RunDocument | null> {
    await this.close(); // what is read replaces what the handle was written against
    const r = await readRunFile(this.ctx, this.path, this.id);
    if (!r) return null;
    if (r.format !== 2) throw new CorruptJournalError(this.path, 'is a format-1 document, not a log');
    this.onDisk = r.doc.events.length;
    this.validBytes = r.validBytes;
    this.tail = r.tornBytes > 0;
    return r.doc;
  }

  async write(data: RunDocument): Promise<void> {
    const point = this.nextPoint;
    this.nextPoint = undefined;
    this.mustStop = false;
    const fresh = data.events.slice(this.onDisk);
    if (fresh.length === 0) return;
    if (this.onDisk === 0) {
      // a new log: header and RunStarted appear together (temp file, rename) or not at all
      const bytes = logBytes(this.id, fresh);
      await replaceFile(this.ctx, this.path, bytes, point, () => (this.mustStop = true));
      this.mustStop = false;
      this.onDisk = fresh.length;
      this.validBytes = bytes.length;
      return;
    }
    await this.append(fresh, point);
  }

  private async append(fresh: FlowEvent[], point: string | undefined): Promise<void> {
    const { fs } = this.ctx;
    const bytes = Buffer.from(fresh.map((e) => JSON.stringify(e) + '\n').join(''), 'utf8');
    let stage = 'open';
    try {
      this.fh ??= await fs.open(this.path, { mode: 'write', noFollow: true });
      const fh = this.fh;
      try {
        if (this.tail) {
          stage = 'cut off the torn final record';
          await fh.truncate(this.validBytes);
          this.tail = false;
        }
        stage = 'write';
        // a failed write may leave a prefix of the record (no newline): a torn tail, cut off next time
        this.tail = true;
        await fh.write(bytes, this.validBytes);
        this.tail = false;
        if (point) this.ctx.crash?.(`${point}-appended`);
        stage = 'fdatasync';
        this.mustStop = true; // from here a failure leaves a complete record of unknown durability
        await maybeSync(this.ctx, 'log-append', () => fh.datasync());
        this.mustStop = false;
      } catch (err) {
        // a failed append does not keep its descriptor (fsyncgate: never write through it again)
        await this.close();
        throw err;
      }
    } catch (err) {
      if (err instanceof CrashSignal) throw err;
      const code = (err as { code?: string }).code ?? 'EIO';
      throw new JournalWriteError(this.path, code, `${stage}: ${(err as Error).message}`);
    }
    this.onDisk += fresh.length;
    this.validBytes += bytes.length;
  }

  /** Closes the log's descriptor if one is open (the run's lock is about to be released, or the process ends). */
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close().catch(() => undefined);
  }
}
