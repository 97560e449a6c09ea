/**
 * index.json: a cache of run summaries for `flow list`, never the source of truth. Each
 * entry remembers the size and mtime of the run document it was made from; an entry
 * whose document changed, a missing entry, or a missing/unreadable index is rebuilt
 * from the documents. Written durably (lowdb + DurableJsonFile) under the index lock,
 * and skipped when another process holds it (the next list rebuilds what is stale).
 */
import path from 'node:path';
import { Low } from 'lowdb';
import { z } from '../src/zod.js';
import { CorruptJournalError } from '../src/errors.js';
import { DurableJsonFile, removeStaleTemps } from './durable-file.js';
import type { JournalContext } from './durability.js';
import type { Locks } from './lock.js';
import type { JournalStore } from './store.js';

const summarySchema = z.object({
  id: z.string(),
  workflow: z.string(),
  status: z.string(),
  created: z.string(),
  updated: z.string(),
  key: z.string().optional(),
  /** size and mtime of the run document this summary was made from */
  docSize: z.number(),
  docMtimeMs: z.number(),
});
export type RunSummary = z.infer<typeof summarySchema>;

const indexSchema = z.object({ format: z.literal(1), runs: z.record(z.string(), summarySchema) });
type IndexDoc = z.infer<typeof indexSchema>;

/** A run in a listing: its summary, or why its document cannot be read. */
export type ListedRun = RunSummary | { id: string; corrupt: string };

export type Summarize = (id: string) => Promise<Omit<RunSummary, 'docSize' | 'docMtimeMs'>>;

export async function listRuns(store: JournalStore, locks: Locks, summarize: Summarize): Promise<ListedRun[]> {
  const ctx: JournalContext = store.ctx;
  const adapter = new DurableJsonFile<IndexDoc>(ctx, store.dirs.index, (raw) => indexSchema.parse(raw));
  const db = new Low<IndexDoc>(adapter, { format: 1, runs: {} });
  try {
    await db.read();
  } catch (err) {
    if (!(err instanceof CorruptJournalError)) throw err;
    db.data = { format: 1, runs: {} }; // a cache: rebuilt, the bad file is replaced below
  }
  const out: ListedRun[] = [];
  const fresh: Record<string, RunSummary> = {};
  let changed = false;
  for (const id of await store.ids()) {
    const st = await ctx.fs.lstat(path.join(store.dirs.runs, `${id}.json`)).catch(() => undefined);
    if (!st) continue;
    const cached = db.data.runs[id];
    if (cached && cached.docSize === st.size && cached.docMtimeMs === st.mtimeMs) {
      fresh[id] = cached;
      out.push(cached);
      continue;
    }
    changed = true;
    try {
      const summary = { ...(await summarize(id)), docSize: st.size, docMtimeMs: st.mtimeMs };
      fresh[id] = summary;
      out.push(summary);
    } catch (err) {
      if (!(err instanceof CorruptJournalError)) throw err;
      out.push({ id, corrupt: err.message });
    }
  }
  if (changed || Object.keys(db.data.runs).length !== Object.keys(fresh).length) {
    await writeIndex(ctx, db, locks, fresh);
  }
  return out.sort((a, b) => ('created' in a && 'created' in b ? a.created.localeCompare(b.created) || a.id.localeCompare(b.id) : 'created' in a ? -1 : 1));
}

async function writeIndex(ctx: JournalContext, db: Low<IndexDoc>, locks: Locks, runs: Record<string, RunSummary>): Promise<void> {
  let release;
  try {
    release = await locks.acquire('index', { wait: false, what: 'the run index' });
  } catch {
    return; // someone else is writing it (or its lock file is unusable); the cache stays stale until the next list
  }
  try {
    // under the index lock no one else is writing it: a temp file beside it is a dead writer's
    await removeStaleTemps(ctx, (db.adapter as DurableJsonFile<IndexDoc>).path);
    db.data = { format: 1, runs };
    await db.write();
  } catch {
    // a cache: failing to write it must not fail the listing
  } finally {
    await release();
  }
}
