/**
 * `flow list` without commander, zod, lowdb, xstate or execa: what start-up costs most of.
 * It answers only when the index is valid and fresh for every run document (each entry's
 * docSize and docMtimeMs match the document, no entry missing or left over): exactly the
 * case in which the full command (inspect.ts, journal/run-index.ts) would print the cached
 * summaries without rebuilding or writing anything. Anything else (a stale or missing
 * entry, a corrupt document or index, any error) returns false before anything is printed,
 * and start.ts runs the full command, which rebuilds, writes and reports as always.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import type { ListedRun, RunSummary } from '../../../journal/run-index.js';
import { isRunId } from '../../../journal/ids.js';
import { ensureStateDir } from '../../../journal/state-dir.js';
import { realFs } from '../../fs/real.js';
import { testSeam } from '../../test-seam.js';
import { printRuns } from './list-output.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const STRINGS = ['id', 'workflow', 'status', 'created', 'updated'] as const;

/** The index entry as journal/run-index.ts's summarySchema accepts it (or stricter: then the full command decides). */
function summaryOf(v: unknown): RunSummary | undefined {
  if (!isObject(v)) return undefined;
  for (const k of STRINGS) if (typeof v[k] !== 'string') return undefined;
  if (v.key !== undefined && typeof v.key !== 'string') return undefined;
  if (typeof v.docSize !== 'number' || !Number.isFinite(v.docSize) || typeof v.docMtimeMs !== 'number' || !Number.isFinite(v.docMtimeMs)) return undefined;
  return v as unknown as RunSummary;
}

/** The index's entries, or undefined when the full command must read (and maybe rebuild) it. */
function readIndex(file: string): Record<string, unknown> | undefined {
  let st;
  try {
    st = lstatSync(file);
  } catch (err) {
    return (err as { code?: string }).code === 'ENOENT' ? {} : undefined; // missing: as an empty index
  }
  if (!st.isFile()) return undefined;
  const fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
  if (!isObject(raw) || raw.format !== 1 || !isObject(raw.runs)) return undefined;
  return raw.runs;
}

/**
 * The document's mtime as run-index.ts records it: realFs's toFsStat, Number() of the
 * bigint stat's mtimeMs (whole milliseconds, truncated). The plain stat's mtimeMs is
 * sec*1e3 + nsec/1e6 in floating point (off by at most ~2e-4 ms for today's dates), so
 * its floor is that same integer unless it lies within 1e-3 of a whole millisecond or
 * before 1970: then the bigint stat decides (no bigint objects for the other 9,999 runs).
 */
function mtimeMs(file: string, approx: number): number | undefined {
  const frac = approx - Math.floor(approx);
  if (approx >= 0 && frac > 1e-3 && frac < 1 - 1e-3) return Math.floor(approx);
  const exact = lstatSync(file, { bigint: true, throwIfNoEntry: false });
  return exact ? Number(exact.mtimeMs) : undefined;
}

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * run-index.ts's order: created, then id, each by localeCompare. When every created is an
 * ISO time as flow writes them (toISOString), two of them first differ at a digit, and
 * every collation orders digits 0-9 as code units do: then a plain comparison of created
 * gives the same order, without ICU for each of the n·log n comparisons.
 */
function sortRuns(runs: RunSummary[]): void {
  const iso = runs.every((r) => ISO_TIME.test(r.created));
  runs.sort((a, b) => (iso ? (a.created < b.created ? -1 : a.created > b.created ? 1 : 0) : a.created.localeCompare(b.created)) || a.id.localeCompare(b.id));
}

/** True when the listing was printed; false when the full command must run. */
export async function fastList(stateDir: string, json: boolean, env: NodeJS.ProcessEnv): Promise<boolean> {
  try {
    // the full command opens the kernel first; only a test seam's kernel can fail there
    await testSeam()?.openKernel?.();
    const dirs = await ensureStateDir({ fs: realFs }, stateDir, process.getuid?.() ?? 0);
    const index = readIndex(dirs.index);
    if (!index) return false;
    const names = readdirSync(dirs.runs).sort(); // as realFs.readdir
    const runs: RunSummary[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || !isRunId(name.slice(0, -5))) continue;
      const id = name.slice(0, -5);
      // dirs.runs is normalised and name a plain file name: the path path.join would give
      const file = `${dirs.runs}/${name}`;
      const st = lstatSync(file, { throwIfNoEntry: false });
      if (!st) continue; // gone since readdir: the full command skips it too (and then rewrites the index)
      const cached = Object.hasOwn(index, id) ? summaryOf(index[id]) : undefined;
      if (!cached || cached.docSize !== st.size || cached.docMtimeMs !== mtimeMs(file, st.mtimeMs)) return false;
      runs.push(cached);
    }
    if (runs.length !== Object.keys(index).length) return false; // entries for runs that are gone: the index is rewritten
    // journal/run-index.ts's order (no corrupt runs here: they are never in the index)
    sortRuns(runs);
    printRuns(runs as ListedRun[], json);
    return true;
  } catch {
    return false; // the full command meets the same error and reports it in flow's form
  }
}
