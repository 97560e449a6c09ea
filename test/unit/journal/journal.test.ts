import { describe, expect, it } from 'vitest';
import { SYNC_CALLS, type SyncCall } from '../../../journal/durability.js';
import { JOURNAL_FORMAT, type EventBody } from '../../../journal/events.js';
import { JournalStore } from '../../../journal/store.js';
import { CorruptJournalError, JournalWriteError, RunNotFoundError, StateDirError } from '../../../src/errors.js';
import { SimFs } from '../../../src/fs/sim.js';

const first: EventBody = { type: 'RunStarted', format: JOURNAL_FORMAT, flowVersion: 't', workflow: 'loop-mount', workflowVersion: 1, params: {}, steps: [], bootId: 'b', keepOnFailure: false };
const now = () => '2026-11-21T00:00:00.000Z';

async function store(fs: SimFs, disabledSyncs?: Set<SyncCall>) {
  return JournalStore.open({ fs, disabledSyncs }, '/var/lib/flow', { uid: 0, now });
}

function simWithRoot(): SimFs {
  const fs = new SimFs();
  fs.putDir('/var/lib', { durable: true });
  return fs;
}

describe('journal store', () => {
  it('an appended event survives a power cut once append resolved', async () => {
    const fs = simWithRoot();
    const s = await store(fs);
    const j = await s.create('abcdefgh', first);
    await j.append({ type: 'ResumeStarted' });
    fs.powerCut();
    const back = await (await store(fs)).load('abcdefgh');
    expect(back.events.map((e) => e.type)).toEqual(['RunStarted', 'ResumeStarted']);
  });

  // doc-file/doc-dir make a new log durable (a later fdatasync of the log covers its data too,
  // so the power is cut right after the creation); log-append makes each appended event durable
  it.each(SYNC_CALLS.map((c) => [c]))('without the %s sync a power cut can lose an acknowledged event', async (call) => {
    const fs = simWithRoot();
    const s = await store(fs, new Set([call]));
    const j = await s.create('abcdefgh', first);
    if (call === 'log-append') await j.append({ type: 'ResumeStarted' });
    fs.powerCut();
    const lost = await (async () => {
      try {
        const back = await (await store(fs)).load('abcdefgh');
        return back.events.length !== j.events.length;
      } catch (err) {
        return err instanceof RunNotFoundError || err instanceof CorruptJournalError || err instanceof StateDirError;
      }
    })();
    expect(lost).toBe(true);
  });

  it('writes state files 0600 in 0700 directories', async () => {
    const fs = simWithRoot();
    const s = await store(fs);
    await s.create('abcdefgh', first);
    expect((await fs.stat('/var/lib/flow')).mode & 0o777).toBe(0o700);
    expect((await fs.stat('/var/lib/flow/runs')).mode & 0o777).toBe(0o700);
    expect((await fs.stat('/var/lib/flow/runs/abcdefgh.json')).mode & 0o777).toBe(0o600);
  });

  const corrupt: [string, string][] = [
    ['an empty file', ''],
    ['truncated JSON', '{"format":1,"id":"abcdefgh","events":[{"seq":0'],
    ['valid JSON failing the schema', JSON.stringify({ format: 1, id: 'abcdefgh', events: [{ seq: 0, at: 'x', type: 'Bogus' }] })],
    ['another run id', JSON.stringify({ format: 1, id: 'zzzzzzzz', events: [{ ...first, seq: 0, at: 'x' }] })],
    ['a gap in sequence numbers', JSON.stringify({ format: 1, id: 'abcdefgh', events: [{ ...first, seq: 0, at: 'x' }, { type: 'ResumeStarted', seq: 2, at: 'x' }] })],
  ];
  it.each(corrupt)('reports %s as corrupt with its path, and never rewrites it', async (_name, content) => {
    const fs = simWithRoot();
    const s = await store(fs);
    fs.putFile('/var/lib/flow/runs/abcdefgh.json', Buffer.from(content), { durable: true });
    await expect(s.load('abcdefgh')).rejects.toThrow(CorruptJournalError);
    await expect(s.load('abcdefgh')).rejects.toThrow('/var/lib/flow/runs/abcdefgh.json');
    expect((await fs.readFile('/var/lib/flow/runs/abcdefgh.json')).toString()).toBe(content);
  });

  it('refuses a symlink planted where a run document should be', async () => {
    const fs = simWithRoot();
    const s = await store(fs);
    fs.putFile('/etc/shadow', Buffer.from('secret'), { durable: true });
    fs.symlink('/etc/shadow', '/var/lib/flow/runs/abcdefgh.json');
    await expect(s.load('abcdefgh')).rejects.toThrow(/not a regular file/);
  });

  it.each([['../etc/passwd'], ['ABCDEFGH'], ['abc'], ['abcdefgh/']])('refuses %j as a run id', async (id) => {
    const s = await store(simWithRoot());
    await expect(s.load(id)).rejects.toThrow(RunNotFoundError);
  });

  it('an unknown run id is RunNotFoundError', async () => {
    const s = await store(simWithRoot());
    await expect(s.load('abcdefgh')).rejects.toThrow(/no run abcdefgh/);
  });

  it('refuses a group-writable state directory', async () => {
    const fs = simWithRoot();
    fs.putDir('/var/lib/flow', { durable: true, mode: 0o777 });
    await fs.chmod('/var/lib/flow', 0o777);
    await expect(store(fs)).rejects.toThrow(/writable by group or others/);
  });

  it('refuses a state directory that is a symlink', async () => {
    const fs = simWithRoot();
    fs.putDir('/elsewhere', { durable: true });
    fs.symlink('/elsewhere', '/var/lib/flow');
    await expect(store(fs)).rejects.toThrow(/symbolic link/);
  });

  it('removes temp files a crashed writer left behind', async () => {
    const fs = simWithRoot();
    const s = await store(fs);
    await s.create('abcdefgh', first);
    fs.putFile('/var/lib/flow/runs/.abcdefgh.json.999.1.tmp', Buffer.from('{'), { durable: true });
    expect(await s.cleanTemps('abcdefgh')).toBe(1);
    expect(await fs.readdir('/var/lib/flow/runs')).toEqual(['abcdefgh.json']);
  });

  it.each([
    ['open', 'EIO'],
    ['write', 'ENOSPC'],
    ['truncate', 'EIO'],
  ] as const)('an append whose %s fails with %s: JournalWriteError naming the file, the event not in the log, the next append works', async (op, code) => {
    const fs = simWithRoot();
    const s = await store(fs);
    const j = await s.create('abcdefgh', first);
    // a torn record first, so that the append has to cut it off (the truncate case)
    const file = '/var/lib/flow/runs/abcdefgh.json';
    const good = await fs.readFile(file);
    fs.putFile(file, Buffer.concat([good, Buffer.from('{"seq":1,"ty')]), { durable: true });
    const j2 = await (await store(fs)).load('abcdefgh');
    fs.injectFault({ op, pathPrefix: '/var/lib/flow/runs/', code, times: 1 });
    const err = await j2.append({ type: 'ResumeStarted' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).code).toBe(code);
    expect((err as JournalWriteError).message).toContain('cannot write journal /var/lib/flow/runs/abcdefgh.json');
    expect(await fs.readdir('/var/lib/flow/runs')).toEqual(['abcdefgh.json']);
    expect(j2.events.map((e) => e.type)).toEqual(['RunStarted']);
    expect((await (await store(fs)).load('abcdefgh')).events.map((e) => e.type)).toEqual(['RunStarted']);
    // the failed write left nothing in the way: the next append lands right after RunStarted
    await j2.append({ type: 'ResumeStarted' });
    expect((await (await store(fs)).load('abcdefgh')).events.map((e) => [e.seq, e.type])).toEqual([[0, 'RunStarted'], [1, 'ResumeStarted']]);
    expect(j.events).toHaveLength(1);
  });

  it.each([
    ['write', 'ENOSPC'],
    ['sync', 'EIO'],
    ['rename', 'EIO'],
  ] as const)('creating a log whose %s fails with %s: JournalWriteError naming the file, no log and no temp file left', async (op, code) => {
    const fs = simWithRoot();
    const s = await store(fs);
    fs.injectFault({ op, pathPrefix: '/var/lib/flow/runs/', code, times: 1 });
    const err = await s.create('abcdefgh', first).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).code).toBe(code);
    expect((err as JournalWriteError).message).toContain('cannot write journal /var/lib/flow/runs/abcdefgh.json');
    expect(await fs.readdir('/var/lib/flow/runs')).toEqual([]);
  });

  it('an fdatasync failing with EIO (fsyncgate): the event stays, as in the file, and the journal refuses every later write', async () => {
    const fs = simWithRoot();
    const s = await store(fs);
    const j = await s.create('abcdefgh', first);
    fs.injectFault({ op: 'sync', pathPrefix: '/var/lib/flow/runs/', code: 'EIO', times: 1 });
    const err = await j.append({ type: 'ResumeStarted' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).detail).toMatch(/^fdatasync: /);
    expect(j.failure).toBe(err);
    expect(j.events.map((e) => e.type)).toEqual(['RunStarted', 'ResumeStarted']);
    expect((await (await store(fs)).load('abcdefgh')).events.map((e) => e.type)).toEqual(['RunStarted', 'ResumeStarted']);
    await expect(j.append({ type: 'RunInterrupted', signal: 'SIGINT' })).rejects.toThrow(/flow stopped writing it/);
  });
});
