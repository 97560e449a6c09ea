/**
 * The in-process parts of scripts/bench, run from an esbuild bundle of this file (so they
 * use flow's real journal and engine modules, not copies):
 *   gen <state-dir> <n> <template.json>...   n run documents in the real format
 *   journal <dir> <runs>                     durable event writes vs bare write+fsync
 * Each prints one JSON object on stdout.
 */
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DurableJsonFile, replaceFile } from '../../journal/durable-file.js';
import { SYNC_CALLS, type JournalContext } from '../../journal/durability.js';
import type { EventBody, RunDocument } from '../../journal/events.js';
import { newRunId } from '../../journal/ids.js';
import { checkDocument } from '../../journal/run-journal.js';
import { logBytes, parseRunFile } from '../../journal/run-log.js';
import { JournalStore } from '../../journal/store.js';
import { realFs } from '../../src/fs/real.js';

const out = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/**
 * n run documents cloned from real ones (`flow run` / `flow rollback` documents), each
 * with its own id and creation time, validated by the journal's own checkDocument and
 * written by its DurableJsonFile (fsyncs off: a generator, not a measurement; one sync at the end).
 */
async function gen(stateDir: string, n: number, templates: string[]): Promise<void> {
  const ctx: JournalContext = { fs: realFs, disabledSyncs: new Set(SYNC_CALLS) };
  const store = await JournalStore.open(ctx, stateDir, { uid: process.getuid?.() ?? 0, now: () => new Date().toISOString() });
  const docs = templates.map((t) => parseRunFile(readFileSync(t), path.basename(t, '.json'), t).doc);
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const ids = new Set<string>();
  for (let i = 0; i < n; i++) {
    let id = newRunId();
    while (ids.has(id)) id = newRunId();
    ids.add(id);
    const doc = docs[i % docs.length]!;
    const base = t0 + i * 60_000;
    const events = doc.events.map((e, k) => ({ ...e, at: new Date(base + k * 10).toISOString() }));
    // in the templates' format (today's runs: format 2, an append-only log)
    if (doc.format === 2) await replaceFile(ctx, store.runPath(id), logBytes(id, parseRunFile(logBytes(id, events), id, id).doc.events), undefined);
    else await new DurableJsonFile<RunDocument>(ctx, store.runPath(id), (raw) => checkDocument(raw, id)).write(checkDocument({ ...doc, id, events }, id));
  }
  out({ runs: n });
}

/**
 * One durable event write (RunJournal.append through JournalStore: temp file, write, fsync,
 * rename, directory fsync) against a bare write+fsync of the same bytes to an open file in
 * the same directory, interleaved so noise hits both alike. Events: those of a real run.
 */
async function journal(dir: string, runs: number, template: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const store = await JournalStore.open({ fs: realFs }, path.join(dir, 'state'), { uid: process.getuid?.() ?? 0, now: () => new Date().toISOString() });
  const doc = parseRunFile(readFileSync(template), path.basename(template, '.json'), template).doc;
  const bodies = doc.events.map(({ seq: _s, at: _a, ...b }) => b as EventBody);
  const bare = await open(path.join(dir, 'bare.bin'), 'w', 0o600);
  const protoDir = path.join(dir, 'protocol');
  await mkdir(protoDir);
  const flowMs: number[] = [];
  const bareMs: number[] = [];
  const protoMs: number[] = [];
  let n = 0;
  const bytes: number[] = [];
  for (let r = 0; r < runs; r++) {
    const id = newRunId();
    let j;
    for (const body of bodies) {
      let t = performance.now();
      if (!j) j = await store.create(id, body);
      else await j.append(body);
      flowMs.push(performance.now() - t);
      const written = readFileSync(j.path); // the bytes that append wrote
      bytes.push(written.length);
      t = performance.now();
      await bare.write(written, 0, written.length, 0);
      await bare.sync();
      bareMs.push(performance.now() - t);
      // the same crash-safe protocol in bare syscalls: temp file, write, fsync, rename, directory fsync
      t = performance.now();
      const tmp = path.join(protoDir, `.doc.json.${++n}.tmp`);
      const fh = await open(tmp, 'wx', 0o600);
      await fh.write(written, 0, written.length, 0);
      await fh.sync();
      await fh.close();
      await rename(tmp, path.join(protoDir, 'doc.json'));
      const d = await open(protoDir, 'r');
      await d.sync();
      await d.close();
      protoMs.push(performance.now() - t);
    }
  }
  await bare.close();
  rmSync(dir, { recursive: true, force: true });
  out({
    samples: flowMs.length,
    bytes: { min: Math.min(...bytes), max: Math.max(...bytes) },
    flow: { p50: quantile(flowMs, 0.5), p99: quantile(flowMs, 0.99) },
    bare: { p50: quantile(bareMs, 0.5), p99: quantile(bareMs, 0.99) },
    protocol: { p50: quantile(protoMs, 0.5), p99: quantile(protoMs, 0.99) },
  });
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
  case 'gen':
    await gen(args[0]!, Number(args[1]), args.slice(2));
    break;
  case 'journal':
    await journal(args[0]!, Number(args[1]), args[2]!);
    break;
  default:
    process.stderr.write('usage: tools.mjs gen|journal ...\n');
    process.exitCode = 2;
}
