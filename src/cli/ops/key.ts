/**
 * `flow run --key KEY`: idempotent invocation for configuration management. Under a lock
 * named after the key (non-blocking: a second invocation with the same key exits 4), the
 * runs recorded with this key decide: one done → shown, nothing changes; one unfinished →
 * resumed; none, or all rolled back → a new run is started with the key.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { listRuns } from '../../../journal/run-index.js';
import { rawRunStarted } from '../../../journal/run-log.js';
import type { WorkflowDef } from '../../../machines/types.js';
import type { App } from '../../app.js';
import type { RunOutcome, Runner } from '../../engine/runner.js';
import { CorruptJournalError, LockedError, UsageError } from '../../errors.js';
import { quote } from '../../preflight/values.js';
import { statusOf } from '../render.js';
import { inRollback, isCorrupt, readRun, type ReadRun } from './runs.js';

/** 1 to 200 characters, none of them a control, format, private-use or line/paragraph separator. */
export function checkKey(key: string): void {
  const n = [...key].length;
  if (n < 1 || n > 200) throw new UsageError(`--key must be 1 to 200 characters (got ${n})`, 'use a short stable name, e.g. --key ci-image-42');
  if (/[\p{C}\p{Zl}\p{Zp}]/u.test(key)) throw new UsageError(`--key ${quote(key)} contains a control or non-printable character`, 'use printable characters only, e.g. --key ci-image-42');
}

/** Lock names are [a-z0-9-]: the key's SHA-256, shortened. */
export function keyLockName(key: string): string {
  return `key-${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 32)}`;
}

/** The key a document's RunStarted records, read without validating (for a corrupt one); null when unreadable. */
async function rawKey(app: App, id: string): Promise<string | undefined | null> {
  try {
    const first = rawRunStarted(await app.store.ctx.fs.readFile(path.join(app.store.dirs.runs, `${id}.json`), { noFollow: true }));
    if (!first) return null;
    return typeof first.key === 'string' ? first.key : undefined;
  } catch {
    return null;
  }
}

/** "journal <path> is corrupt: <detail>" → detail (the path may hold spaces), so it is not said twice. */
function detailOf(app: App, id: string, message: string): string {
  const prefix = `journal ${app.store.runPath(id)} is corrupt: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

/** Runs recorded with this key, oldest first. A corrupt journal that may have it is refused (exit 3). */
export async function runsWithKey(app: App, key: string): Promise<ReadRun[]> {
  const listed = await listRuns(app.store, app.locks, async (id) => {
    const r = await readRun(app, id);
    if (!r || isCorrupt(r)) throw new CorruptJournalError(app.store.runPath(id), r ? detailOf(app, id, r.corrupt) : 'vanished');
    const st = r.state;
    return { id, workflow: st.workflow, status: statusOf(r.phase), created: st.created, updated: st.updated, ...(st.key ? { key: st.key } : {}) };
  });
  const out: ReadRun[] = [];
  for (const l of listed) {
    if ('corrupt' in l) {
      const k = await rawKey(app, l.id);
      if (k === null || k === key) throw new CorruptJournalError(app.store.runPath(l.id), `${detailOf(app, l.id, l.corrupt)}; it may be the run with --key ${JSON.stringify(key)}`);
      continue;
    }
    if (l.key !== key) continue;
    const r = await readRun(app, l.id);
    if (r && isCorrupt(r)) throw new CorruptJournalError(app.store.runPath(l.id), r.corrupt);
    if (r) out.push(r);
  }
  return out;
}

export interface KeyedOptions {
  json?: boolean;
  /** starts a new run with the key (preflight included) */
  start: () => Promise<RunOutcome>;
}

export async function runWithKey(app: App, runner: Runner, key: string, wf: WorkflowDef<any>, o: KeyedOptions): Promise<RunOutcome> {
  const k = JSON.stringify(key);
  let release;
  try {
    release = await app.locks.acquire(keyLockName(key), { wait: false, what: `key ${k}` });
  } catch (err) {
    if (!(err instanceof LockedError)) throw err;
    throw new LockedError(`another flow process is running with --key ${k}`, 'wait for it to finish, then run the same command again: it will show that run, or resume it');
  }
  try {
    const live = (await runsWithKey(app, key)).filter((r) => r.status !== 'rolled-back');
    const other = live.find((r) => r.workflow !== wf.name);
    if (other) throw new UsageError(`--key ${k} belongs to run ${other.id} of workflow ${other.workflow}, not ${wf.name}`, `use another key, or roll that run back first: flow rollback ${other.id}`);
    const note = (s: string) => process.stderr.write(`flow: ${s}\n`);
    const id = (r: ReadRun) => void (!o.json && process.stdout.write(`${r.id}\n`));
    const done = live.filter((r) => r.status === 'done').at(-1);
    // a reboot took a done run's devices: configuration management must not hear "ok" while
    // nothing exists, so the run is resumed (its devices rebuilt) as `flow resume` would. A run
    // whose applied steps are all durable (files, filesystems) lost nothing: it stays as it is.
    if (done && done.state.steps.some((s) => s.status === 'applied' && !s.def.durable) && done.state.bootId !== (await app.kernel.system.bootId())) {
      note(`run ${done.id} with --key ${k} is done, but the host rebooted since: resuming it`);
      id(done);
      return await runner.resume(done.id);
    }
    if (done) {
      note(`run ${done.id} with --key ${k} is already done; nothing changed`);
      id(done);
      return { id: done.id, phase: done.phase, state: done.state };
    }
    const open = live.at(-1);
    if (open && inRollback(open)) {
      throw new UsageError(`run ${open.id} with --key ${k} is being rolled back (${open.status})`, `finish it with \`flow rollback ${open.id}\`, then run this command again to start a new run`);
    }
    if (open) {
      note(`run ${open.id} with --key ${k} is ${open.status}: resuming it`);
      id(open);
      return await runner.resume(open.id);
    }
    return await o.start();
  } finally {
    await release();
  }
}
