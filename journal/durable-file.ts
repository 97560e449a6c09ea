/**
 * A lowdb adapter that makes every write durable (lowdb's own JSONFile does not fsync):
 * unique temp file in the same directory (0600, O_EXCL, no symlink followed), write,
 * fsync, close, rename over the target, fsync the directory. Any error is fatal and is
 * reported as JournalWriteError: Linux may report a lost write only once, so no retry;
 * the temp file of a failed write is removed.
 *
 * Reading: a missing file is `null`; a symlink, a non-file, unparsable JSON or a document
 * that fails `validate` is a CorruptJournalError naming the path; the file is never
 * rewritten by a failed read.
 */
import path from 'node:path';
import type { Adapter } from 'lowdb';
import { CorruptJournalError, JournalWriteError } from '../src/errors.js';
import { hasCode } from '../src/fs/types.js';
import { CrashSignal, maybeSync, type JournalContext } from './durability.js';

let tempCounter = 0;

export class DurableJsonFile<T> implements Adapter<T> {
  /** Prefix of the crash points hit by the next write ("<prefix>-written", "<prefix>-renamed"). */
  nextPoint: string | undefined;
  /**
   * Set when a write failed after its rename: the document on disk (at least in the page
   * cache) is the new one, but it may not be durable (fsyncgate: the error is reported once,
   * a retry would not make it durable). The caller must stop writing.
   */
  replacedUnsynced = false;

  constructor(
    private readonly ctx: JournalContext,
    readonly path: string,
    private readonly validate: (raw: unknown) => T,
  ) {}

  async read(): Promise<T | null> {
    const { fs } = this.ctx;
    let st;
    try {
      st = await fs.lstat(this.path);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return null;
      throw err;
    }
    if (st.kind !== 'file') throw new CorruptJournalError(this.path, `not a regular file (${st.kind}); flow does not follow links here`);
    const bytes = await fs.readFile(this.path, { noFollow: true });
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      const what = bytes.length === 0 ? 'empty file' : `not JSON (${(err as Error).message})`;
      throw new CorruptJournalError(this.path, what);
    }
    try {
      return this.validate(raw);
    } catch (err) {
      throw new CorruptJournalError(this.path, `does not validate: ${validationDetail(err)}`);
    }
  }

  async write(data: T): Promise<void> {
    const point = this.nextPoint;
    this.nextPoint = undefined;
    this.replacedUnsynced = false;
    await replaceFile(this.ctx, this.path, Buffer.from(JSON.stringify(data) + '\n', 'utf8'), point, () => (this.replacedUnsynced = true));
    this.replacedUnsynced = false;
  }

  /** The last write failed after its rename: the caller must stop writing (see `replacedUnsynced`). */
  get mustStop(): boolean {
    return this.replacedUnsynced;
  }
}

/**
 * Replaces (or creates) `target` with `bytes` durably: unique temp file in the same
 * directory (0600, O_EXCL, no symlink followed), write, fsync ('doc-file'), rename,
 * fsync of the directory ('doc-dir'). Crash points `<point>-written` and
 * `<point>-renamed`; `renamed` is called as soon as the rename happened (a later failure
 * leaves the new content in place, maybe not durable). Errors become JournalWriteError;
 * the temp file of a failed write is removed.
 */
export async function replaceFile(ctx: JournalContext, target: string, bytes: Buffer, point: string | undefined, renamed?: () => void): Promise<void> {
  const { fs } = ctx;
  const dir = path.dirname(target);
  const tmp = path.join(dir, `.${path.basename(target)}.${process.pid}.${++tempCounter}.tmp`);
  let stage = 'create temp file';
  let created = false;
  try {
    const fh = await fs.open(tmp, { mode: 'create-exclusive', perm: 0o600, noFollow: true });
    created = true;
    try {
      stage = 'write';
      await fh.write(bytes, 0);
      if (point) ctx.crash?.(`${point}-written`);
      stage = 'fsync';
      await maybeSync(ctx, 'doc-file', () => fh.sync());
    } finally {
      await fh.close().catch(() => undefined);
    }
    stage = 'rename';
    await fs.rename(tmp, target);
    created = false;
    renamed?.();
    if (point) ctx.crash?.(`${point}-renamed`);
    stage = 'fsync directory';
    await maybeSync(ctx, 'doc-dir', () => fs.syncDir(dir));
  } catch (err) {
    if (err instanceof CrashSignal) throw err;
    // the temp file never became the document: remove it, or each failed write would leave one more
    if (created) await fs.unlink(tmp).catch(() => undefined);
    const code = (err as { code?: string }).code ?? 'EIO';
    throw new JournalWriteError(target, code, `${stage}: ${(err as Error).message}`);
  }
}

/**
 * One line saying what failed validation: a zod error's issues as "events[8].type: <message>"
 * (at most three), anything else by its message's first line. (A zod message is a
 * multi-line JSON dump, which would break the one-line problem of an error message.)
 */
export function validationDetail(err: unknown): string {
  const issues = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (Array.isArray(issues) && issues.length > 0) {
    const where = (p: PropertyKey[]) => p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('') || '(the document)';
    const shown = issues.slice(0, 3).map((i) => `${where(i.path)}: ${i.message.split('\n')[0]}`);
    return shown.join('; ') + (issues.length > 3 ? `; and ${issues.length - 3} more` : '');
  }
  return String((err as Error)?.message ?? err).split('\n')[0]!;
}

/** Removes temp files a crashed writer left for `target` and `others` in its directory (call while holding the target's lock). */
export async function removeStaleTemps(ctx: JournalContext, target: string, ...others: string[]): Promise<number> {
  const dir = path.dirname(target);
  const prefixes = [target, ...others].map((t) => `.${path.basename(t)}.`);
  let removed = 0;
  for (const name of await ctx.fs.readdir(dir)) {
    if (prefixes.some((p) => name.startsWith(p)) && name.endsWith('.tmp')) {
      await ctx.fs.unlink(path.join(dir, name)).catch(() => undefined);
      removed++;
    }
  }
  return removed;
}
