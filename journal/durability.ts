/**
 * What the journal needs besides a filesystem: a crash hook (tests stop the process at a
 * named point) and a sync switch (the fsync mutation test disables one sync call at a time).
 */
import type { Fs } from '../src/fs/types.js';

/**
 * The sync calls the journal makes, by name; each must be caught by a power-cut tier when disabled.
 *   doc-file   fsync of a whole document's temp file before its rename (a new run's log, a
 *              format-1 journal continued, the index)
 *   doc-dir    fsync of the directory after that rename
 *   log-append fdatasync of each event appended to a run's log
 *   state-dir  fsync of a parent after creating a state directory
 */
export const SYNC_CALLS = ['doc-file', 'doc-dir', 'log-append', 'state-dir'] as const;
export type SyncCall = (typeof SYNC_CALLS)[number];

/** Called at named points; a test hook throws (in process) or SIGKILLs (subprocess) there. */
export type CrashHook = (point: string) => void;

export interface JournalContext {
  fs: Fs;
  crash?: CrashHook;
  /** sync calls to skip (fsync mutation testing only) */
  disabledSyncs?: ReadonlySet<SyncCall>;
}

/** Runs the named sync unless a mutation test disabled it. */
export async function maybeSync(ctx: JournalContext, name: SyncCall, sync: () => Promise<void>): Promise<void> {
  if (ctx.disabledSyncs?.has(name)) return;
  await sync();
}

/** Thrown by in-process crash hooks; never converted into a JournalWriteError. */
export class CrashSignal extends Error {
  constructor(readonly point: string) {
    super(`simulated crash at ${point}`);
    this.name = 'CrashSignal';
  }
}

