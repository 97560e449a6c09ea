/**
 * The format-2 journal: an append-only log of JSON lines. A new run writes a header and
 * one line per event; reading tolerates only a torn FINAL record (cut off before the next
 * append); a torn or invalid middle record is corruption, reported with its line and
 * never written over. Format-1 documents written by older flow (golden files made by the
 * flow before this format) are read, resumed and rolled back, and stay format 1.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CrashSignal } from '../../../journal/durability.js';
import { JOURNAL_FORMAT, type EventBody } from '../../../journal/events.js';
import { JournalStore } from '../../../journal/store.js';
import { fold } from '../../../src/engine/fold.js';
import { CorruptJournalError } from '../../../src/errors.js';
import { SimFs } from '../../../src/fs/sim.js';
import type { FileHandle } from '../../../src/fs/types.js';
import { SCENARIOS } from '../../support/scenarios.js';
import { STATE_DIR, World } from '../../support/world.js';

const first: EventBody = { type: 'RunStarted', format: JOURNAL_FORMAT, flowVersion: 't', workflow: 'loop-mount', workflowVersion: 1, params: {}, steps: [], bootId: 'b', keepOnFailure: false };
const now = () => '2026-11-21T00:00:00.000Z';
const FILE = '/var/lib/flow/runs/abcdefgh.json';

async function store(fs: SimFs) {
  return JournalStore.open({ fs }, '/var/lib/flow', { uid: 0, now });
}

async function withLog(): Promise<{ fs: SimFs; bytes: Buffer }> {
  const fs = new SimFs();
  fs.putDir('/var/lib', { durable: true });
  const j = await (await store(fs)).create('abcdefgh', first);
  await j.append({ type: 'ResumeStarted' });
  await j.append({ type: 'RunInterrupted', signal: 'SIGINT' });
  return { fs, bytes: await fs.readFile(FILE) };
}

const lines = (b: Buffer) => b.toString('utf8').split('\n');

/** Counts the system calls made on the files under `prefix` (opens, and each handle's writes, syncs and closes). */
function countCalls(fs: SimFs, prefix: string) {
  const n = { open: 0, write: 0, datasync: 0, sync: 0, close: 0 };
  const open = fs.open.bind(fs);
  fs.open = async (p, o) => {
    const h = await open(p, o);
    if (!p.startsWith(prefix)) return h;
    n.open++;
    const counted = (k: 'write' | 'datasync' | 'sync' | 'close', f: (...a: never[]) => Promise<unknown>) => (...a: never[]) => (n[k]++, f.apply(h, a));
    return { ...bindAll(h), write: counted('write', h.write), datasync: counted('datasync', h.datasync), sync: counted('sync', h.sync), close: counted('close', h.close) } as FileHandle;
  };
  return n;
}
const bindAll = (h: FileHandle): FileHandle => ({ write: h.write.bind(h), read: h.read.bind(h), truncate: h.truncate.bind(h), sync: h.sync.bind(h), datasync: h.datasync.bind(h), stat: h.stat.bind(h), close: h.close.bind(h) });

describe('the append-only log (format 2)', () => {
  it('a new run writes a header line, then one line per event; RunStarted records format 2', async () => {
    const { bytes } = await withLog();
    const l = lines(bytes);
    expect(JOURNAL_FORMAT).toBe(2);
    expect(l).toHaveLength(5); // header, three events, '' after the last newline
    expect(JSON.parse(l[0]!)).toEqual({ format: 2, id: 'abcdefgh' });
    expect(l.slice(1, 4).map((x) => JSON.parse(x).type)).toEqual(['RunStarted', 'ResumeStarted', 'RunInterrupted']);
    expect(JSON.parse(l[1]!).format).toBe(2);
    expect(l[4]).toBe('');
  });

  it('appending never rewrites what is there: each append adds bytes after the old ones', async () => {
    const { fs, bytes } = await withLog();
    const j = await (await store(fs)).load('abcdefgh');
    await j.append({ type: 'ResumeStarted' });
    const after = await fs.readFile(FILE);
    expect(after.subarray(0, bytes.length).equals(bytes)).toBe(true);
    expect(JSON.parse(after.subarray(bytes.length).toString('utf8'))).toMatchObject({ seq: 3, type: 'ResumeStarted' });
  });

  it.each([
    ['a prefix of a record', '{"seq":3,"at":"2026'],
    ['zeros', '\0\0\0\0\0\0\0\0'],
    ['a whole record without its newline', JSON.stringify({ seq: 3, at: 'x', type: 'ResumeStarted' })],
  ])('a torn final record (%s) is ignored on read, and cut off by the next append', async (_name, tail) => {
    const { fs, bytes } = await withLog();
    fs.putFile(FILE, Buffer.concat([bytes, Buffer.from(tail, 'utf8')]), { durable: true });
    const j = await (await store(fs)).load('abcdefgh');
    expect(j.events.map((e) => e.type)).toEqual(['RunStarted', 'ResumeStarted', 'RunInterrupted']);
    const e = await j.append({ type: 'ResumeStarted' });
    expect(e.seq).toBe(3);
    const after = await fs.readFile(FILE);
    expect(after.subarray(0, bytes.length).equals(bytes)).toBe(true);
    expect(lines(after).slice(1, -1).map((x) => JSON.parse(x).seq)).toEqual([0, 1, 2, 3]);
    // and it survives a power cut: the cut-off and the append were made durable together
    fs.powerCut();
    expect((await (await store(fs)).load('abcdefgh')).events.map((x) => x.seq)).toEqual([0, 1, 2, 3]);
  });

  it('an append is one write and one fdatasync: the log stays open across appends until close', async () => {
    const { fs, bytes } = await withLog();
    const j = await (await store(fs)).load('abcdefgh');
    const n = countCalls(fs, FILE);
    for (let i = 0; i < 3; i++) {
      await j.append({ type: 'ResumeStarted' });
      await j.append({ type: 'RunInterrupted', signal: 'SIGINT' });
    }
    expect(n).toEqual({ open: 1, write: 6, datasync: 6, sync: 0, close: 0 });
    await j.close();
    expect(n.close).toBe(1);
    // a later append opens the log again, and lands after the others
    await j.append({ type: 'ResumeStarted' });
    expect(n).toMatchObject({ open: 2, write: 7, datasync: 7 });
    await j.close();
    const after = await fs.readFile(FILE);
    expect(after.subarray(0, bytes.length).equals(bytes)).toBe(true);
    expect(lines(after).slice(1, -1).map((x) => JSON.parse(x).seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    fs.powerCut();
    expect((await (await store(fs)).load('abcdefgh')).events).toHaveLength(10);
  });

  it('the runner closes every log it opened before it releases the run lock (start, resume, rollback)', async () => {
    const sc = SCENARIOS.find((s) => s.workflow === 'delayed-device')!;
    const w = World.create();
    await sc.setup(w);
    const n = countCalls(w.fs, `${STATE_DIR}/runs/`);
    w.crashAt = 'apply:attach-file:before-intent';
    await w.start(sc.workflow, sc.options, 'k3m9x2ab').catch((err: unknown) => {
      if (!(err instanceof CrashSignal)) throw err;
    });
    w.crashAt = undefined;
    expect(n.open).toBeGreaterThan(0);
    expect(n.close).toBe(n.open);
    await (await w.runner()).resume('k3m9x2ab');
    expect(n.close).toBe(n.open);
    const opens = n.open;
    await (await w.runner()).rollback('k3m9x2ab');
    expect(n.open).toBeGreaterThan(opens);
    expect(n.close).toBe(n.open);
    // each locked command opened the log once for all its appends (plus the new log's temp file)
    expect(n.datasync).toBeGreaterThan(n.open);
  });

  const corrupt: [string, (l: string[]) => string[], RegExp][] = [
    ['a torn middle record', (l) => [l[0]!, l[1]!, l[2]!.slice(0, 20), l[3]!, ''], /line 3: not JSON/],
    ['an invalid middle record', (l) => [l[0]!, l[1]!, JSON.stringify({ seq: 1, at: 'x', type: 'Bogus' }), l[3]!, ''], /line 3: does not validate/],
    ['an invalid final record with its newline', (l) => [l[0]!, l[1]!, l[2]!, '{"seq":2,"at":"x","type":"RunInterr', ''], /line 4: not JSON/],
    ['a record missing (gap in sequence numbers)', (l) => [l[0]!, l[1]!, l[3]!, ''], /line 3: event 1 has sequence number 2/],
    ['another run id in the header', (l) => [JSON.stringify({ format: 2, id: 'zzzzzzzz' }), ...l.slice(1)], /line 1: log id "zzzzzzzz" does not match/],
    ['no RunStarted', (l) => [l[0]!, ''], /no complete RunStarted/],
    ['a torn RunStarted', (l) => [l[0]!, l[1]!.slice(0, 30)], /no complete RunStarted/],
    ['RunStarted twice', (l) => [l[0]!, l[1]!, l[1]!.replace('"seq":0', '"seq":1'), ''], /line 3: RunStarted appears twice/],
    ['a format-1 RunStarted in a log', (l) => [l[0]!, l[1]!.replace('"format":2', '"format":1'), ''], /line 2: RunStarted records format 1/],
  ];
  it.each(corrupt)('%s is corruption: reported with the path and line, and never written over', async (_name, edit, why) => {
    const { fs, bytes } = await withLog();
    const bad = Buffer.from(edit(lines(bytes)).join('\n'), 'utf8');
    fs.putFile(FILE, bad, { durable: true });
    const err = await (await store(fs)).load('abcdefgh').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptJournalError);
    expect((err as Error).message).toContain(FILE);
    expect((err as Error).message).toMatch(why);
    expect((await fs.readFile(FILE)).equals(bad)).toBe(true);
  });

  it('a corrupt log stops resume and rollback before anything is done or written', async () => {
    const sc = SCENARIOS.find((s) => s.workflow === 'delayed-device')!;
    const w = World.create();
    await sc.setup(w);
    w.crashAt = 'apply:attach-file:before-intent';
    await w.start(sc.workflow, sc.options, 'k3m9x2ab').catch((err: unknown) => {
      if (!(err instanceof CrashSignal)) throw err;
    });
    w.crashAt = undefined;
    w.processCrash();
    const file = `${STATE_DIR}/runs/k3m9x2ab.json`;
    const l = lines(await w.fs.readFile(file));
    const bad = Buffer.from([...l.slice(0, 3), l[3]!.slice(0, 10), ...l.slice(4)].join('\n'), 'utf8');
    w.fs.putFile(file, bad, { durable: true });
    const kernel = w.kernel.snapshotState();
    for (const how of ['resume', 'rollback'] as const) {
      await expect((await w.runner())[how]('k3m9x2ab')).rejects.toThrow(CorruptJournalError);
      expect((await w.fs.readFile(file)).equals(bad)).toBe(true);
      expect(w.kernel.snapshotState()).toEqual(kernel);
    }
  });
});

describe('format-1 journals written by older flow (golden files)', () => {
  const golden = (name: string) => readFileSync(new URL(`golden/format1-${name}.json`, import.meta.url));
  const ID = 'k3m9x2ab';
  const sc = SCENARIOS.find((s) => s.workflow === 'delayed-device')!;

  it('a finished loop-mount run reads back and folds to done', async () => {
    const fs = new SimFs();
    fs.putDir('/var/lib', { durable: true });
    const s = await store(fs);
    fs.putFile(`/var/lib/flow/runs/${ID}.json`, golden('loop-mount-done'), { durable: true });
    const j = await s.load(ID);
    expect(j.format).toBe(1);
    expect(j.events).toHaveLength(8);
    expect(fold(ID, j.events).phase).toBe('done');
  });

  it('a stopped delayed-device run resumes to the end and rolls back exactly, and its file stays one format-1 document', async () => {
    const w = World.create();
    await sc.setup(w);
    const setupTree = w.tree();
    const file = `${STATE_DIR}/runs/${ID}.json`;
    w.fs.putFile(file, golden('delayed-device-stopped'), { durable: true });
    expect((await (await w.runner()).resume(ID)).phase).toBe('done');
    const doc = JSON.parse((await w.fs.readFile(file)).toString('utf8'));
    expect(doc.format).toBe(1);
    expect(doc.events[0].format).toBe(1);
    expect(doc.events.at(-1).type).toBe('RunFinished');
    // a power cut now: the format-1 writes were durable
    await w.powerCut();
    expect((await (await w.store()).load(ID)).events).toHaveLength(doc.events.length);
    expect((await (await w.runner()).rollback(ID)).phase).toBe('rolled-back');
    expect(w.tree()).toEqual(setupTree);
  });
});
