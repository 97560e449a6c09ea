/**
 * `flow prune --older-than DURATION`: removes the journals (and lock files) of runs that
 * ended — done or rolled back — before now − DURATION. An unfinished run is never removed;
 * a corrupt journal is reported and kept; a run another process holds is skipped. Each
 * removal happens under the run's lock, and the runs directory is fsynced after it.
 */
import { openApp, type App } from '../../app.js';
import { LockedError, UsageError } from '../../errors.js';
import type { GlobalOpts } from '../commands/common.js';
import { worst } from './recover.js';
import { ENDED, isCorrupt, leftoverExecBinds, readRun, readRuns, type ReadRun } from './runs.js';
import { leftoverExport } from '../../export/names.js';

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90m", "12h", "30d", "2w" (also "45s") → milliseconds; anything else is a usage error. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,9})([smhdw])$/.exec(text.trim());
  if (!m) throw new UsageError(`--older-than ${JSON.stringify(text)} is not a duration`, 'give a whole number and a unit: 90m, 12h, 30d, 2w (s, m, h, d, w)');
  return Number(m[1]) * UNITS[m[2]!]!;
}

export interface Pruned {
  id: string;
  workflow: string | null;
  status: string;
  /** when the run's last event was recorded */
  ended: string | null;
  action: 'removed' | 'would-remove' | 'kept' | 'skipped';
  reason?: string;
}

export async function prune(opts: GlobalOpts & { olderThan: string; dryRun: boolean; json: boolean }): Promise<number> {
  const ms = parseDuration(opts.olderThan);
  const app = await openApp(opts.stateDir);
  const cutoff = Date.now() - ms;
  const items: Pruned[] = [];
  const codes: number[] = [];
  for (const r of await readRuns(app)) {
    if (isCorrupt(r)) {
      items.push({ id: r.id, workflow: null, status: 'corrupt', ended: null, action: 'kept', reason: r.corrupt });
      codes.push(3);
      continue;
    }
    const base = { id: r.id, workflow: r.workflow, status: r.status, ended: r.state.updated };
    const at = Date.parse(r.state.updated);
    if (Number.isNaN(at)) {
      items.push({ ...base, action: 'kept', reason: `cannot tell when it ended (last event at ${JSON.stringify(r.state.updated)})` });
      continue;
    }
    if (at >= cutoff) continue;
    if (leftoverExecBinds(r)) {
      items.push({ ...base, action: 'kept', reason: 'the binds of a flow exec that was killed: never pruned; `flow recover` removes them' });
      continue;
    }
    if (leftoverExport(r)) {
      items.push({ ...base, action: 'kept', reason: 'the temporary file of a flow export that was killed: never pruned; `flow recover` removes it' });
      continue;
    }
    if (!ENDED.has(r.status)) {
      items.push({ ...base, action: 'kept', reason: `unfinished (${r.status}): never pruned; settle it with \`flow recover\`` });
      continue;
    }
    if (opts.dryRun) {
      items.push({ ...base, action: 'would-remove' });
      continue;
    }
    const outcome = await remove(app, r);
    if (outcome === 'locked') codes.push(4);
    items.push(outcome === 'removed' ? { ...base, action: 'removed' } : { ...base, action: outcome === 'locked' ? 'skipped' : 'kept', reason: outcome === 'locked' ? 'in use by another flow process' : outcome });
  }
  if (opts.json) process.stdout.write(JSON.stringify(items) + '\n');
  else print(items, new Date(cutoff).toISOString(), opts.dryRun);
  return worst(codes);
}

/** Removes one ended run under its lock; says why not otherwise. */
async function remove(app: App, r: ReadRun): Promise<'removed' | 'locked' | string> {
  const { fs } = app.store.ctx;
  let release;
  try {
    release = await app.locks.acquire(`run-${r.id}`, { wait: false, what: `run ${r.id}` });
  } catch (err) {
    if (err instanceof LockedError) return 'locked';
    throw err;
  }
  try {
    const now = await readRun(app, r.id);
    if (!now) return 'removed by someone else meanwhile';
    if (isCorrupt(now) || !ENDED.has(now.status) || now.state.lastSeq !== r.state.lastSeq) return 'changed while flow prune looked at it; not removed';
    await app.store.cleanTemps(r.id);
    await app.store.removeCheckpoint(r.id); // the fold cache first: a crash between the two never leaves a checkpoint without its run
    await fs.unlink(app.store.runPath(r.id));
    await fs.syncDir(app.store.dirs.runs);
    await app.store.removeLockFile(r.id);
    return 'removed';
  } finally {
    await release();
  }
}

function print(items: Pruned[], cutoff: string, dryRun: boolean): void {
  const w = (s: string): void => void process.stdout.write(s + '\n');
  const label = { removed: 'removed', 'would-remove': 'would remove', kept: 'kept', skipped: 'skipped' } as const;
  for (const i of items) {
    w(`${label[i.action].padEnd(13)} ${i.id.padEnd(9)} ${(i.workflow ?? '?').padEnd(16)} ${i.status.padEnd(13)} ${i.ended ? `ended ${i.ended}` : ''}${i.reason ? `  ${i.reason}` : ''}`.trimEnd());
  }
  const gone = items.filter((i) => i.action === (dryRun ? 'would-remove' : 'removed')).length;
  const rest = items.length - gone;
  const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`;
  if (items.length === 0) return w(`nothing to prune: no run ended before ${cutoff}`);
  w(`${dryRun ? 'would remove' : 'removed'} ${runs(gone)} that ended before ${cutoff}${rest ? `; ${runs(rest)} kept or skipped` : ''}${dryRun ? ' (dry run: nothing changed)' : ''}`);
}
