/**
 * Test helpers: a run's journal read as plain events, and written back as a log (today's
 * format 2) or as a format-1 document (one whole JSON document,
 * as flow wrote every journal before the append-only log), so tests can exercise the
 * reading and continuing of journals older flow left behind.
 */
import type { FlowEvent } from '../../journal/events.js';
import { logBytes, parseRunFile } from '../../journal/run-log.js';

/** The run file's events (either format), as plain JSON objects. */
export function eventsOf(bytes: Buffer, id: string): Record<string, any>[] {
  return JSON.parse(JSON.stringify(parseRunFile(bytes, id, '(test)').doc.events));
}

/** Format-1 bytes of a document holding `events` (RunStarted's `format` set to 1). */
export function format1Bytes(id: string, events: Record<string, any>[]): Buffer {
  const evs = events.map((e) => (e.type === 'RunStarted' ? { ...e, format: 1 } : e));
  return Buffer.from(JSON.stringify({ format: 1, id, events: evs }) + '\n', 'utf8');
}

/** Format-2 bytes (today's log) holding `events`, e.g. after a test edited them. */
export function logOf(id: string, events: Record<string, any>[]): Buffer {
  return logBytes(id, events as FlowEvent[]);
}
