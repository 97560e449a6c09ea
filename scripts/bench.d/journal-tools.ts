/**
 * The journal's and the fold's in-process parts of scripts/bench (issue 12), run from an
 * esbuild bundle of this file, so they use flow's real journal and engine modules:
 *   append <dir> <runs> <template>   a durable event append (RunJournal.append: one write
 *                                    + fdatasync) vs a bare write+fdatasync of the same
 *                                    bytes appended to an open file, interleaved
 *   fold <steps> <reps>              fold + plan of a synthetic run through the engine's
 *                                    RunCursor, cold and warm, with the counted work
 *   long <state-dir> <events> <template>   writes one run's log of about <events> events
 *                                    (the template run, resumed and interrupted many times),
 *                                    with the fold checkpoint flow leaves, 200 events behind
 *   open <state-dir> <id> [whole]    opens it as `flow show` does (read, validate, fold,
 *                                    through its fold checkpoint; `whole`: ignoring it) in this
 *                                    fresh process; also the bare read + JSON.parse
 * Each prints one JSON object on stdout.
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { JournalContext } from '../../journal/durability.js';
import { eventSchema, JOURNAL_FORMAT, type EventBody, type EventOf, type FlowEvent } from '../../journal/events.js';
import { newRunId } from '../../journal/ids.js';
import { logBytes, parseRunFile } from '../../journal/run-log.js';
import { JournalStore } from '../../journal/store.js';
import type { StepDef } from '../../machines/types.js';
import { fold, RunCursor } from '../../src/engine/fold.js';
import { guardWork } from '../../src/engine/machine.js';
import { plan } from '../../src/engine/plan.js';
import { foldWork } from '../../src/engine/state.js';
import { replaceFile } from '../../journal/durable-file.js';
import { checkpointPath } from '../../journal/checkpoint.js';
import { Session } from '../../src/engine/session.js';
import { realFs } from '../../src/fs/real.js';

const out = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil(q * xs.length) - 1))]!;
const uid = process.getuid?.() ?? 0;
const now = () => new Date().toISOString();

function templateEvents(template: string): FlowEvent[] {
  return parseRunFile(readFileSync(template), path.basename(template, '.json'), template).doc.events;
}

async function append(dir: string, runs: number, template: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const store = await JournalStore.open({ fs: realFs }, path.join(dir, 'state'), { uid, now });
  const bodies = templateEvents(template).map(({ seq: _s, at: _a, ...b }) => b as EventBody);
  const bare = await open(path.join(dir, 'bare.log'), 'w', 0o600);
  let bareEnd = 0;
  const flowMs: number[] = [];
  const bareMs: number[] = [];
  const createMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const id = newRunId();
    const t0 = performance.now();
    const j = await store.create(id, bodies[0]!);
    createMs.push(performance.now() - t0);
    let size = readFileSync(j.path).length;
    for (const body of bodies.slice(1)) {
      let t = performance.now();
      await j.append(body);
      flowMs.push(performance.now() - t);
      const all = readFileSync(j.path);
      const record = all.subarray(size); // the bytes this append wrote
      size = all.length;
      t = performance.now();
      await bare.write(record, 0, record.length, bareEnd);
      await bare.datasync();
      bareMs.push(performance.now() - t);
      bareEnd += record.length;
    }
  }
  await bare.close();
  rmSync(dir, { recursive: true, force: true });
  out({
    samples: flowMs.length,
    flow: { p50: quantile(flowMs, 0.5), p99: quantile(flowMs, 0.99) },
    bare: { p50: quantile(bareMs, 0.5), p99: quantile(bareMs, 0.99) },
    create: { p50: quantile(createMs, 0.5) },
  });
}

/** A synthetic run of `steps` steps, every one applied, then finished: 2·steps+2 events. */
function syntheticRun(steps: number): { defs: StepDef[]; events: FlowEvent[] } {
  const defs: StepDef[] = Array.from({ length: steps }, (_, i) => ({ name: `dir-${i}`, kind: 'dir.make', title: `create /mnt/d${i}`, durable: true, args: () => ({ dirs: [`/mnt/d${i}`] }) }));
  const bodies: EventBody[] = [
    { type: 'RunStarted', format: JOURNAL_FORMAT, flowVersion: 'bench', workflow: 'synthetic', workflowVersion: 1, params: {}, steps: defs.map((d) => d.name), bootId: 'boot', keepOnFailure: false },
    ...defs.flatMap((d): EventBody[] => [
      { type: 'StepIntended', step: d.name, args: { dirs: [`/mnt/${d.name}`] }, marker: {}, bootId: 'boot' },
      { type: 'StepSucceeded', step: d.name, outputs: { created: [`/mnt/${d.name}`] } },
    ]),
    { type: 'RunFinished' },
  ];
  return { defs, events: bodies.map((b, seq) => ({ ...b, seq, at: '2026-01-01T00:00:00.000Z' }) as FlowEvent) };
}

function foldBench(steps: number, reps: number): void {
  const { defs, events } = syntheticRun(steps);
  const once = () => {
    const t = performance.now();
    const c = new RunCursor('abcdefgh', events[0] as EventOf<'RunStarted'>, defs);
    for (let i = 1; i < events.length; i++) c.feed(events[i]!);
    const a = plan(c.state, c.phase);
    const ms = performance.now() - t;
    if (c.phase !== 'done' || a.type !== 'none') throw new Error(`unexpected end: ${c.phase} ${a.type}`);
    return ms;
  };
  foldWork.stepVisits = 0;
  guardWork.calls = 0;
  const cold = once();
  const work = { stepVisitsPerEvent: foldWork.stepVisits / events.length, guardsPerEvent: guardWork.calls / events.length };
  const warm = Array.from({ length: reps }, once);
  out({ steps, events: events.length, coldMs: cold, warmMedianMs: quantile(warm, 0.5), ...work });
}

/**
 * The template run (a real delayed-device run) stopped before its end and resumed/interrupted
 * until it has ~`n` events, then finished. Its fold checkpoint is what flow leaves: written by
 * the engine (Session.close, as at the end of a locked command) `behind` events before the end.
 */
async function long(stateDir: string, n: number, template: string, behind = 200): Promise<void> {
  const tpl = templateEvents(template);
  const cut = tpl.findIndex((e) => e.type === 'StepSucceeded'); // after the first step
  const bodies: EventBody[] = tpl.slice(0, cut + 1).map(({ seq: _s, at: _a, ...b }) => b as EventBody);
  while (bodies.length < n - (tpl.length - cut)) bodies.push({ type: 'RunInterrupted', signal: 'SIGINT' }, { type: 'ResumeStarted' });
  bodies.push(...tpl.slice(cut + 1).map(({ seq: _s, at: _a, ...b }) => b as EventBody));
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  // as RunJournal.append makes them (validated: the schema's key order, what flow writes)
  const events = bodies.map((b, seq) => eventSchema().parse({ ...b, seq, at: new Date(t0 + seq * 1000).toISOString() }));
  const id = newRunId();
  const ctx: JournalContext = { fs: realFs };
  const store = await JournalStore.open(ctx, stateDir, { uid, now });
  fold(id, events); // the journal the bench opens must be one flow accepts
  const head = events.length - behind;
  await replaceFile(ctx, store.runPath(id), logBytes(id, events.slice(0, head)), undefined);
  await Session.open(await store.load(id)).close();
  appendFileSync(store.runPath(id), events.slice(head).map((e) => JSON.stringify(e) + '\n').join(''));
  out({ id, events: events.length, bytes: readFileSync(store.runPath(id)).length, checkpointBehind: behind, checkpoint: existsSync(checkpointPath(store.runPath(id))) });
}

/**
 * Opens a run as `flow show` does (store.load through its fold checkpoint, Session.open),
 * first thing in a fresh process (cold); `whole`: the same log read and folded whole, the
 * checkpoint ignored (what an open cost before it).
 */
async function openRun(stateDir: string, id: string, how: string): Promise<void> {
  const t = performance.now();
  const cpu0 = process.cpuUsage();
  const store = await JournalStore.open({ fs: realFs }, stateDir, { uid, now });
  let events: readonly FlowEvent[];
  let phase: string;
  let readMs: number;
  let viaCheckpoint = false;
  if (how === 'whole') {
    const file = store.runPath(id);
    events = parseRunFile(readFileSync(file), id, file).doc.events;
    readMs = performance.now() - t;
    phase = fold(id, events).phase;
  } else {
    const j = await store.load(id);
    readMs = performance.now() - t;
    viaCheckpoint = j.checkpoint !== undefined;
    events = j.events;
    phase = Session.open(j).phase;
  }
  const openMs = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  const t2 = performance.now();
  const lines = readFileSync(store.runPath(id), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as unknown);
  const parseMs = performance.now() - t2;
  out({ events: events.length, phase, viaCheckpoint, openMs, readValidateMs: readMs, openCpuMs: (cpu.user + cpu.system) / 1000, bareParseMs: parseMs, lines: lines.length });
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
  case 'append':
    await append(args[0]!, Number(args[1]), args[2]!);
    break;
  case 'fold':
    foldBench(Number(args[0] ?? 1000), Number(args[1] ?? 20));
    break;
  case 'long':
    await long(args[0]!, Number(args[1]), args[2]!);
    break;
  case 'open':
    await openRun(args[0]!, args[1]!, args[2] ?? 'flow');
    break;
  default:
    process.stderr.write('usage: journal-tools.mjs append|fold|long|open ...\n');
    process.exitCode = 2;
}
