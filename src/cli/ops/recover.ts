/**
 * `flow recover`: settles every unfinished run, one at a time, oldest first. A run being
 * rolled back is always rolled back; the others are rolled back (policy `rollback`, the
 * default) or resumed (policy `resume`). A run another process holds is skipped and
 * reported. SIGINT/SIGTERM stops after the current step and starts no further run.
 */
import { openApp, type App } from '../../app.js';
import { LockedError, NeedsOperatorError } from '../../errors.js';
import { exitCodeOf, messageOf } from '../exit.js';
import { installCommandLog } from '../log.js';
import { progressLine } from '../render.js';
import { watchStopSignals } from '../stop-signals.js';
import type { GlobalOpts } from '../commands/common.js';
import { ENDED, inRollback, isCorrupt, leftoverExecBinds, readRun, readRuns, type ReadRun } from './runs.js';
import { leftoverExport } from '../../export/names.js';

/** flow's own internal runs (an exec's binds, an export's temporary file) left by a killed flow: always rolled back, also when done. */
const execBinds = (r: ReadRun): boolean => leftoverExecBinds(r) || leftoverExport(r);

export type Policy = 'resume' | 'rollback';

export interface Recovered {
  id: string;
  /** null for a corrupt journal (its workflow cannot be read) */
  workflow: string | null;
  before: string;
  after: string;
  action: 'resume' | 'rollback' | 'none';
  error?: string;
  /** for a run that needs an operator: what may remain, last step first */
  commands?: string[];
}

/** Which exit code wins when runs ended differently: interrupted, then operator, locked, failed, usage. */
const PRIORITY = [130, 3, 4, 1, 2];

export function worst(codes: number[]): number {
  return PRIORITY.find((c) => codes.includes(c)) ?? (codes.find((c) => c !== 0) ?? 0);
}

export async function recover(opts: GlobalOpts & { policy: Policy; json: boolean }): Promise<number> {
  const app = await openApp(opts.stateDir);
  const stopLog = installCommandLog(opts);
  const out = (s: string) => void (!opts.json && process.stdout.write(s + '\n'));
  const signals = watchStopSignals('stopping after the current step; no further run is recovered');
  const runner = app.runner({
    interrupted: () => signals.received,
    observe: (e, s) => {
      const line = progressLine(e, s);
      if (line) out(line);
    },
  });
  const results: Recovered[] = [];
  const codes: number[] = [];
  try {
    for (const id of await app.store.unrecordedIds()) {
      const dropped = await dropUnrecorded(app, id);
      if (dropped === 'temp') out(`run ${id} was never recorded (flow stopped while it wrote the first record): its temporary file removed`);
      if (dropped === 'lock') out(`run ${id} has a lock file but no record (flow stopped before it recorded the run, or a prune stopped between removing the record and the lock file): its lock file removed`);
    }
    for (const r of await readRuns(app)) {
      if (isCorrupt(r)) {
        results.push({ id: r.id, workflow: null, before: 'corrupt', after: 'corrupt', action: 'none', error: r.corrupt });
        codes.push(3);
        process.stderr.write(`flow: ${r.corrupt}\n`);
        continue;
      }
      if (ENDED.has(r.status) && !execBinds(r)) continue;
      const base = { id: r.id, workflow: r.workflow, before: r.status };
      if (signals.received) {
        results.push({ ...base, after: r.status, action: 'none', error: `not recovered: flow was stopped by ${signals.received}` });
        continue;
      }
      const action: Policy = inRollback(r) || execBinds(r) || opts.policy === 'rollback' ? 'rollback' : 'resume';
      out(`run ${r.id} (${r.workflow}, was ${r.status})`);
      let error: unknown;
      try {
        await (action === 'rollback' ? runner.rollback(r.id, 'recover') : runner.resume(r.id));
      } catch (err) {
        error = err;
      }
      const now = await readRun(app, r.id).catch(() => undefined);
      const after = !now ? 'gone' : isCorrupt(now) ? 'corrupt' : now.status;
      const item: Recovered = { ...base, after, action };
      if (error) {
        codes.push(exitCodeOf(error));
        item.error = (error as Error).message ?? String(error);
        if (error instanceof NeedsOperatorError) item.commands = error.commands;
        process.stderr.write(messageOf(error) + '\n');
      } else codes.push(ENDED.has(after) ? 0 : 1);
      out(`run ${r.id}: ${after}`);
      results.push(item);
    }
  } finally {
    signals.dispose();
    stopLog();
  }
  if (signals.received) codes.push(130);
  if (opts.json) process.stdout.write(JSON.stringify(results) + '\n');
  else summary(results, out);
  return worst(codes);
}

/**
 * A run whose first record was never renamed into place left a temporary file and its lock
 * file (a start killed at `start-written`), or only its lock file (a start killed before it
 * wrote anything, or a prune killed between removing the record and the lock file): nothing
 * of it is recorded, so what is left goes, under the run's lock (a waiter on a removed lock
 * file takes the lock again: journal/lock.ts). A start still writing holds that lock: left
 * alone. Returns what was removed.
 */
async function dropUnrecorded(app: App, id: string): Promise<'temp' | 'lock' | undefined> {
  let release;
  try {
    release = await app.locks.acquire(`run-${id}`, { wait: false, what: `run ${id}` });
  } catch (err) {
    if (err instanceof LockedError) return undefined;
    throw err;
  }
  try {
    if (await app.store.exists(id)) return undefined; // recorded meanwhile: a run like any other
    const removed = await app.store.cleanTemps(id);
    await app.store.removeLockFile(id);
    return removed > 0 ? 'temp' : 'lock';
  } finally {
    await release();
  }
}

function summary(results: Recovered[], out: (s: string) => void): void {
  if (results.length === 0) return out('nothing to recover: every run is done or rolled back');
  const ok = results.filter((r) => !r.error && ENDED.has(r.after)).length;
  out(`\nrecover: ${results.length} unfinished run${results.length === 1 ? '' : 's'}, ${ok} settled, ${results.length - ok} not`);
  for (const r of results) {
    out(`  ${r.id.padEnd(9)} ${(r.workflow ?? '?').padEnd(16)} ${r.before.padEnd(15)} -> ${r.after.padEnd(15)}${r.error ? ` ${firstLine(r.error)}` : ''}`.trimEnd());
  }
}

const firstLine = (s: string) => s.split('\n')[0] ?? '';
