/**
 * Reading runs for the commands that act on many of them (recover, prune, run --key,
 * doctor): each run document folded to its status, or why it cannot be read. Reading
 * needs no lock (documents are replaced by rename); acting on a run takes its lock.
 */
import type { App } from '../../app.js';
import { Session } from '../../engine/session.js';
import type { Phase, RunState } from '../../engine/state.js';
import { CorruptJournalError, RunNotFoundError } from '../../errors.js';
import { statusOf } from '../render.js';
import { EXEC_BINDS } from '../../exec/names.js';

export interface ReadRun {
  id: string;
  workflow: string;
  /** what `flow list` shows: running, done, failed, interrupted, needs-operator, rolling-back, rolled-back */
  status: string;
  phase: Phase;
  state: RunState;
}

export interface CorruptRun {
  id: string;
  corrupt: string;
}

/** Statuses of runs that ended: nothing of them is in progress or in doubt. */
export const ENDED = new Set(['done', 'rolled-back']);

/** The binds of a `flow exec` (flow's own exec-binds run) not rolled back: its flow was killed; `flow recover` always removes them. */
export const leftoverExecBinds = (r: ReadRun): boolean => r.workflow === EXEC_BINDS && r.state.definition?.source.kind === 'builtin' && r.status !== 'rolled-back';

/** One run, folded; a corrupt document is returned as such; undefined when it vanished. */
export async function readRun(app: Pick<App, 'store'>, id: string): Promise<ReadRun | CorruptRun | undefined> {
  try {
    const s = Session.open(await app.store.load(id));
    return { id, workflow: s.state.workflow, status: statusOf(s.phase), phase: s.phase, state: s.state };
  } catch (err) {
    if (err instanceof CorruptJournalError) return { id, corrupt: err.message };
    if (err instanceof RunNotFoundError) return undefined;
    throw err;
  }
}

/** Every run, oldest first (corrupt ones last, by id). */
export async function readRuns(app: Pick<App, 'store'>): Promise<(ReadRun | CorruptRun)[]> {
  const out: (ReadRun | CorruptRun)[] = [];
  for (const id of await app.store.ids()) {
    const r = await readRun(app, id);
    if (r) out.push(r);
  }
  const created = (r: ReadRun | CorruptRun) => ('corrupt' in r ? '\uffff' : r.state.created);
  return out.sort((a, b) => created(a).localeCompare(created(b)) || a.id.localeCompare(b.id));
}

export const isCorrupt = (r: ReadRun | CorruptRun): r is CorruptRun => 'corrupt' in r;

/** A run that stopped while being rolled back: it can only be rolled back further. */
export function inRollback(r: ReadRun): boolean {
  return r.phase === 'rollback' || r.state.stoppedFrom === 'rollback';
}
