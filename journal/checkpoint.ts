/**
 * A run's fold checkpoint, `runs/<id>.fold`: a cache of the state the engine folded from a
 * prefix of the run's log (format 2), so that opening a long log folds only the events
 * after it. Never durable, never trusted when it does not match: it is used only when its
 * own checksum holds and the log's first `bytes` bytes (whole records) hash to its
 * `sha256`; anything else (missing, torn, planted, for another id, a log cut or rewritten)
 * is ignored and the log is folded whole. Written 0600 through a temp file and a rename
 * (no fsync: a power cut leaves the old one, none, or a torn one, which its checksum rejects).
 *
 * The prefix it covers was validated by the flow that wrote it, and it holds only what
 * flow serialised itself (canonical records, checked when it is written), so the prefix is
 * read back with one JSON.parse instead of record by record.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { hasCode } from '../src/fs/types.js';
import type { JournalContext } from './durability.js';
import { replaceFile } from './durable-file.js';

/** Bump when the checkpoint's meaning changes (what `fold` holds, how the prefix is keyed). */
export const CHECKPOINT_VERSION = 1;

/** What a checkpoint says about the log. */
export interface CheckpointKey {
  /** length of the log prefix it covers: the header and `events` whole records */
  bytes: number;
  /** sha256 of that prefix, hex */
  sha256: string;
  /** events in that prefix */
  events: number;
}

export interface Checkpoint extends CheckpointKey {
  /** the folded state after those events, as the engine saved it (engine/fold.ts checks it) */
  fold: unknown;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export function checkpointPath(logPath: string): string {
  return path.join(path.dirname(logPath), `${path.basename(logPath, '.json')}.fold`);
}

/** The file's bytes: the checkpoint and a checksum of it, so a torn or edited file is refused. */
function encode(id: string, cp: Checkpoint): Buffer {
  const body = JSON.stringify({ v: CHECKPOINT_VERSION, id, ...cp });
  return Buffer.from(`${body}\n${sha256(Buffer.from(body, 'utf8'))}\n`, 'utf8');
}

function decode(raw: Buffer, id: string): Checkpoint | undefined {
  const text = raw.toString('utf8');
  const nl = text.indexOf('\n');
  if (nl < 0 || text.slice(nl + 1) !== `${sha256(raw.subarray(0, Buffer.byteLength(text.slice(0, nl))))}\n`) return undefined;
  const o = JSON.parse(text.slice(0, nl)) as Record<string, unknown>;
  if (o.v !== CHECKPOINT_VERSION || o.id !== id) return undefined;
  const { bytes, sha256: h, events, fold } = o;
  if (!Number.isSafeInteger(bytes) || !Number.isSafeInteger(events) || typeof h !== 'string' || (events as number) < 1) return undefined;
  return { bytes: bytes as number, sha256: h, events: events as number, fold };
}

/**
 * The checkpoint of the log whose bytes are `log`, when there is one that matches it: its
 * prefix ends at a record boundary within the log's whole records and hashes as recorded.
 * Undefined in every other case (errors reading it included: it is a cache).
 */
export async function readCheckpoint(ctx: JournalContext, logPath: string, id: string, log: Buffer): Promise<Checkpoint | undefined> {
  const file = checkpointPath(logPath);
  try {
    const st = await ctx.fs.lstat(file);
    if (st.kind !== 'file') return undefined;
    const cp = decode(await ctx.fs.readFile(file, { noFollow: true }), id);
    if (!cp || cp.bytes > log.length || log[cp.bytes - 1] !== 0x0a) return undefined;
    return sha256(log.subarray(0, cp.bytes)) === cp.sha256 ? cp : undefined;
  } catch {
    return undefined; // missing, unreadable or not JSON: a cache, not a journal
  }
}

/**
 * Writes the checkpoint of the log whose first records are exactly `prefix` (the caller
 * checked that the file holds these bytes). Best effort: false when it could not be written.
 */
export async function writeCheckpoint(ctx: JournalContext, logPath: string, id: string, prefix: Buffer, events: number, fold: unknown): Promise<boolean> {
  const bytes = encode(id, { bytes: prefix.length, sha256: sha256(prefix), events, fold });
  // no sync calls: a cache (see the module comment); the temp file is 0600 like every file here
  const noSync: JournalContext = { fs: ctx.fs, disabledSyncs: new Set(['doc-file', 'doc-dir']) };
  return replaceFile(noSync, checkpointPath(logPath), bytes, undefined).then(
    () => true,
    () => false,
  );
}

/** Removes a run's checkpoint (the run is being removed). */
export async function removeCheckpoint(ctx: JournalContext, logPath: string): Promise<void> {
  await ctx.fs.unlink(checkpointPath(logPath)).catch((err: unknown) => {
    if (!hasCode(err, 'ENOENT')) throw err;
  });
}
