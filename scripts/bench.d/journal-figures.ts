/**
 * scripts/bench's journal and fold section (issue 12), from scripts/bench.d/journal-tools.ts
 * run in fresh processes: the durable append against a bare write+fdatasync of the same
 * bytes, fold + plan of 10-1000 steps (with the work counted per event), and the open of a
 * journal of 10,000 events. Every figure carries the load average it was measured under.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { type Figure, median, r2 } from './figure.js';
export type JournalFigure = Figure;

const load = () => `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;
function fsType(p: string): string {
  try {
    return execFileSync('findmnt', ['-no', 'FSTYPE,SOURCE', '-T', p], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

function tool<T>(tools: string, ...args: string[]): T {
  const r = spawnSync(process.execPath, [tools, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`journal-tools ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function journalSection(work: string, templates: string[], rounds = 5): JournalFigure[] {
  const tools = path.join(path.dirname(process.argv[1]!), 'journal-tools.mjs');
  const figs: JournalFigure[] = [];

  log('journal: durable event appends vs bare write+fdatasync');
  const before = load();
  type Append = { samples: number; flow: { p50: number; p99: number }; bare: { p50: number; p99: number }; create: { p50: number } };
  const res = Array.from({ length: rounds }, (_, i) => tool<Append>(tools, 'append', path.join(work, `append-${i}`), '20', templates[0]!));
  const note = `${res[0]!.samples} appends per round, ${rounds} rounds (median of the rounds' quantiles); a new log (temp file, fsync, rename, directory fsync) p50 ${r2(median(res.map((r) => r.create.p50)))} ms; ${path.dirname(work)}: ${fsType(work)}; ${before}`;
  for (const q of ['p50', 'p99'] as const) {
    const flow = r2(median(res.map((r) => r.flow[q])));
    const bare = r2(median(res.map((r) => r.bare[q])));
    figs.push({ section: 'journal', name: `durable event write (append + fdatasync), ${q}`, value: flow, unit: 'ms', baseline: { name: 'write+fdatasync of the same bytes', value: bare }, ratio: r2(flow / bare), target: '≤ 1.5x', met: flow / bare <= 1.5, note });
  }

  log('fold + plan of synthetic runs');
  for (const steps of [10, 100, 1000]) {
    const l = load();
    type Fold = { coldMs: number; warmMedianMs: number; events: number; stepVisitsPerEvent: number; guardsPerEvent: number };
    const rs = Array.from({ length: rounds }, () => tool<Fold>(tools, 'fold', String(steps), '10'));
    const cold = r2(median(rs.map((r) => r.coldMs)));
    figs.push({
      section: 'scale',
      name: `fold + plan, ${steps} steps (${rs[0]!.events} events), first in a process`,
      value: cold,
      unit: 'ms',
      target: steps === 1000 ? '≤ 30 ms, linear' : '—',
      met: steps === 1000 ? cold <= 30 : undefined,
      note: `warm median ${r2(median(rs.map((r) => r.warmMedianMs)))} ms; counted work per event: ${r2(rs[0]!.stepVisitsPerEvent)} step visits, ${r2(rs[0]!.guardsPerEvent)} guard calls; ${l}`,
    });
  }

  log('open of a journal of 10,000 events');
  const state = path.join(work, 'long-state');
  mkdirSync(state, { recursive: true });
  const made = tool<{ id: string; events: number; bytes: number; checkpoint: boolean; checkpointBehind: number }>(tools, 'long', state, '10000', templates[0]!);
  if (!made.checkpoint) throw new Error('the long run has no fold checkpoint');
  const l = load();
  type Open = { openMs: number; bareParseMs: number; events: number; viaCheckpoint: boolean; openCpuMs: number };
  // alternated, each in a fresh process: through the checkpoint (what flow does) and whole (before it)
  const pairs = Array.from({ length: rounds * 2 }, () => [tool<Open>(tools, 'open', state, made.id), tool<Open>(tools, 'open', state, made.id, 'whole')] as const);
  if (!pairs.every(([cp, w]) => cp.viaCheckpoint && !w.viaCheckpoint)) throw new Error('an open did not go as asked (checkpoint used / not used)');
  const openMs = r2(median(pairs.map(([o]) => o.openMs)));
  const wholeMs = r2(median(pairs.map(([, w]) => w.openMs)));
  const parseMs = r2(median(pairs.map(([o]) => o.bareParseMs)));
  figs.push({
    section: 'scale',
    name: `open a journal of ${made.events} events (read, validate, fold), first in a process`,
    value: openMs,
    unit: 'ms',
    baseline: { name: 'read + JSON.parse of its lines, nothing else', value: parseMs },
    ratio: r2(openMs / parseMs),
    target: '≤ 50 ms',
    met: openMs <= 50,
    note: `${made.bytes} bytes, its fold checkpoint ${made.checkpointBehind} events behind the end (as flow leaves it); CPU ${r2(median(pairs.map(([o]) => o.openCpuMs)))} ms; the same log read and folded whole (no checkpoint, as before it), alternated: ${wholeMs} ms, CPU ${r2(median(pairs.map(([, w]) => w.openCpuMs)))} ms; median of ${pairs.length} fresh processes each; ${l}`,
  });
  return figs;
}
