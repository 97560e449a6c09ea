/**
 * The journal store: creates, opens and lists run documents in the state directory.
 * A corrupt document is reported (CorruptJournalError, with its path) and never
 * rewritten; listing reports it as such and keeps the other runs usable.
 */
import path from 'node:path';
import { FlowError, RunNotFoundError } from '../src/errors.js';
import { hasCode } from '../src/fs/types.js';
import { checkpointPath, removeCheckpoint } from './checkpoint.js';
import { removeStaleTemps } from './durable-file.js';
import type { JournalContext } from './durability.js';
import type { EventBody } from './events.js';
import { isRunId } from './ids.js';
import { RunJournal } from './run-journal.js';
import { ensureStateDir, type StateDirLayout } from './state-dir.js';

export class JournalStore {
  private constructor(
    readonly ctx: JournalContext,
    readonly dirs: StateDirLayout,
    readonly now: () => string,
  ) {}

  /** Opens (creating when missing) the state directory after checking it is safe. */
  static async open(ctx: JournalContext, root: string, opts: { uid: number; now: () => string }): Promise<JournalStore> {
    const dirs = await ensureStateDir(ctx, root, opts.uid);
    return new JournalStore(ctx, dirs, opts.now);
  }

  runPath(id: string): string {
    if (!isRunId(id)) throw new RunNotFoundError(`${JSON.stringify(id)} is not a run id (8 characters of a-z and 2-9)`, 'list runs with `flow list`');
    return path.join(this.dirs.runs, `${id}.json`);
  }

  /** True when a document (readable or not) exists for this id. */
  async exists(id: string): Promise<boolean> {
    try {
      await this.ctx.fs.lstat(this.runPath(id));
      return true;
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /** Records a new run; its RunStarted is durable when this resolves. */
  async create(id: string, first: EventBody, point?: string): Promise<RunJournal> {
    if (await this.exists(id)) throw new FlowError(`run ${id} already exists`);
    return RunJournal.create(this.ctx, this.runPath(id), id, first, this.now, point);
  }

  /** Opens a run's journal (call with the run's lock held: stale temp files are removed). */
  async load(id: string): Promise<RunJournal> {
    const file = this.runPath(id);
    const j = await RunJournal.load(this.ctx, file, id, this.now);
    if (!j) throw new RunNotFoundError(`no run ${id} in ${this.dirs.runs}`, 'list runs with `flow list`');
    return j;
  }

  /** Removes temp files a crashed writer left beside this run's document (its own, and its fold checkpoint's). */
  async cleanTemps(id: string): Promise<number> {
    return removeStaleTemps(this.ctx, this.runPath(id), checkpointPath(this.runPath(id)));
  }

  /**
   * Ids with a temporary file of their document, or a lock file, but no document: a `flow run`
   * killed while it wrote its first record (`start-written`) or before it wrote anything, or
   * one starting now (it holds the run's lock).
   */
  async unrecordedIds(): Promise<string[]> {
    const names = await this.ctx.fs.readdir(this.dirs.runs);
    const ids = new Set<string>();
    for (const n of names) {
      const m = /^\.([^.]+)\.json\..+\.tmp$/.exec(n);
      if (m && isRunId(m[1]!) && !names.includes(`${m[1]}.json`)) ids.add(m[1]!);
    }
    for (const n of await this.ctx.fs.readdir(this.dirs.locks)) {
      const m = /^run-([^.]+)\.lock$/.exec(n);
      if (m && isRunId(m[1]!) && !names.includes(`${m[1]}.json`)) ids.add(m[1]!);
    }
    return [...ids];
  }

  /** Removes the run's lock file (call while holding that lock, once the run's document is gone or was never made). */
  async removeLockFile(id: string): Promise<void> {
    await this.ctx.fs.unlink(path.join(this.dirs.locks, `run-${id}.lock`)).catch((err: unknown) => {
      if (!hasCode(err, 'ENOENT')) throw err;
    });
  }

  /** Removes the run's fold checkpoint, if any (the run's document is being removed). */
  async removeCheckpoint(id: string): Promise<void> {
    await removeCheckpoint(this.ctx, this.runPath(id));
  }

  /** Ids of every run document, in no particular order. */
  async ids(): Promise<string[]> {
    const names = await this.ctx.fs.readdir(this.dirs.runs);
    return names.filter((n) => n.endsWith('.json') && isRunId(n.slice(0, -5))).map((n) => n.slice(0, -5));
  }
}
