/**
 * The fold checkpoint (journal/checkpoint.ts): a cache of the folded state beside a long
 * log, keyed by the log prefix's length and hash. Opening through it gives exactly what a
 * whole read and fold give, with work only for the events after it; a checkpoint that does
 * not match the log (torn, edited, another run's, a log edited or cut) is never used, and a
 * corrupt record is reported as before.
 */
import { describe, expect, it } from 'vitest';
import { checkpointPath } from '../../../journal/checkpoint.js';
import { CrashSignal } from '../../../journal/durability.js';
import { parseRunFile } from '../../../journal/run-log.js';
import { fold } from '../../../src/engine/fold.js';
import { guardWork } from '../../../src/engine/machine.js';
import { CHECKPOINT_EVERY, Session } from '../../../src/engine/session.js';
import type { RunState } from '../../../src/engine/state.js';
import { CorruptJournalError } from '../../../src/errors.js';
import { SCENARIOS } from '../../support/scenarios.js';
import { STATE_DIR, World } from '../../support/world.js';

const ID = 'k3m9x2ab';
const FILE = `${STATE_DIR}/runs/${ID}.json`;
const CP = `${STATE_DIR}/runs/${ID}.fold`;

/** A delayed-device run stopped after its first step, then interrupted and resumed `pairs` times (each a locked command's events). */
async function longRun(pairs: number): Promise<World> {
  const sc = SCENARIOS.find((s) => s.workflow === 'delayed-device')!;
  const w = World.create();
  await sc.setup(w);
  w.crashAt = 'apply:attach-file:before-intent';
  await w.start(sc.workflow, sc.options, ID).catch((err: unknown) => {
    if (!(err instanceof CrashSignal)) throw err;
  });
  w.crashAt = undefined;
  await appendPairs(w, pairs);
  return w;
}

async function appendPairs(w: World, pairs: number): Promise<void> {
  const s = Session.open(await (await w.store()).load(ID));
  for (let i = 0; i < pairs; i++) {
    await s.append({ type: 'RunInterrupted', signal: 'SIGINT' });
    await s.append({ type: 'ResumeStarted' });
  }
  await s.close();
}

/** A state to compare: each step's definition by name (two folds build their own step closures). */
const comparable = (st: RunState) => ({ ...st, steps: st.steps.map((x) => ({ ...x, def: x.def.name })) });

/** The log read and folded whole, without any checkpoint. */
async function whole(w: World) {
  const doc = parseRunFile(await w.fs.readFile(FILE), ID, FILE).doc;
  const calls = guardWork.calls;
  const c = fold(ID, doc.events);
  return { events: doc.events, phase: c.phase, saved: c.save(), state: comparable(c.state), guards: guardWork.calls - calls };
}

async function opened(w: World) {
  const j = await (await w.store()).load(ID);
  const calls = guardWork.calls;
  const s = Session.open(j);
  return { j, s, guards: guardWork.calls - calls };
}

describe('fold checkpoint', () => {
  it(`is written (0600) when a session folded ${CHECKPOINT_EVERY} events past the last one, and an open through it equals a whole fold, folding only what follows it`, async () => {
    const w = await longRun(CHECKPOINT_EVERY);
    expect((await w.fs.lstat(CP)).mode).toBe(0o600);
    const ref = await whole(w);
    const { j, s, guards } = await opened(w);
    expect(j.checkpoint?.events).toBe(ref.events.length);
    expect(j.events).toEqual(ref.events);
    expect(s.phase).toBe(ref.phase);
    expect(comparable(s.state)).toEqual(ref.state);
    expect(JSON.stringify(comparable(s.state))).toBe(JSON.stringify(ref.state));
    expect(guards).toBe(0);

    // a few more events (below the threshold: no new checkpoint): only they are folded
    await appendPairs(w, 3);
    const ref2 = await whole(w);
    const o2 = await opened(w);
    expect(o2.j.checkpoint?.events).toBe(ref.events.length);
    expect(o2.j.events).toEqual(ref2.events);
    expect(comparable(o2.s.state)).toEqual(ref2.state);
    expect(o2.guards).toBeLessThanOrEqual(6);
    expect(ref2.guards).toBeGreaterThan(CHECKPOINT_EVERY);
    // and the run goes on from there: resume to the end, rollback
    await (await w.runner()).resume(ID);
    await (await w.runner()).rollback(ID);
    const end = await whole(w);
    expect(end.phase).toBe('rolled-back');
    expect(comparable((await opened(w)).s.state)).toEqual(end.state);
  });

  it('a short run writes none', async () => {
    const w = await longRun(3);
    await expect(w.fs.lstat(CP)).rejects.toThrow(/ENOENT/);
  });

  const spoilers: [string, (w: World, log: Buffer, cp: Buffer) => void][] = [
    ['a torn checkpoint', (w, _l, cp) => w.fs.putFile(CP, cp.subarray(0, cp.length - 20), { durable: true })],
    ['a checkpoint edited (its checksum no longer holds)', (w, _l, cp) => w.fs.putFile(CP, Buffer.from(cp.toString('utf8').replace('"value":"forward"', '"value":"done"')), { durable: true })],
    ['another run\'s checkpoint', (w, _l, cp) => w.fs.putFile(CP, Buffer.from(cp.toString('utf8').replaceAll(ID, 'zzzzzzzz')), { durable: true })],
    ['a log whose prefix was edited (still a valid log)', (w, log) => w.fs.putFile(FILE, Buffer.from(log.toString('utf8').replace('"signal":"SIGINT"', '"signal":"SIGTERM"')), { durable: true })],
    ['a log cut short (a whole run of records gone)', (w, log) => w.fs.putFile(FILE, log.subarray(0, log.lastIndexOf('\n', log.length - 2000) + 1), { durable: true })],
    ['a symlink in its place', (w, _l, cp) => (w.fs.putFile('/img/cp', cp, { durable: true }), w.fs.unlink(CP), w.fs.symlink('/img/cp', CP))],
  ];
  it.each(spoilers)('%s is never used: the log is read and folded whole', async (_name, spoil) => {
    const w = await longRun(CHECKPOINT_EVERY);
    const before = [await w.fs.readFile(FILE), await w.fs.readFile(CP)] as const;
    await spoil(w, ...before);
    const same = (await w.fs.readFile(FILE)).equals(before[0]) && (await w.fs.lstat(CP)).kind === 'file' && (await w.fs.readFile(CP)).equals(before[1]);
    expect(same).toBe(false); // the spoiler did spoil
    const ref = await whole(w);
    const { j, s, guards } = await opened(w);
    expect(j.checkpoint).toBeUndefined();
    expect(j.events).toEqual(ref.events);
    expect(comparable(s.state)).toEqual(ref.state);
    expect(guards).toBe(ref.guards);
  });

  it('a corrupt record after the checkpoint, or inside its prefix, is reported as corruption', async () => {
    const w = await longRun(CHECKPOINT_EVERY);
    await appendPairs(w, 2);
    const log = await w.fs.readFile(FILE);
    const lines = log.toString('utf8').split('\n');
    for (const at of [lines.length - 3, 5]) {
      const bad = [...lines];
      bad[at] = bad[at]!.slice(0, 12); // a torn middle record
      w.fs.putFile(FILE, Buffer.from(bad.join('\n')), { durable: true });
      const err = await (await w.store()).load(ID).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptJournalError);
      expect((err as Error).message).toContain(`line ${at + 1}: not JSON`);
    }
  });

  it('the checkpoint lies beside the log as <id>.fold, and a crashed writer\'s temp file of it is cleaned with the run\'s', async () => {
    const w = await longRun(CHECKPOINT_EVERY);
    expect(checkpointPath(FILE)).toBe(CP);
    w.fs.putFile(`${STATE_DIR}/runs/.${ID}.fold.999.1.tmp`, Buffer.from('{'), { durable: true });
    expect(await (await w.store()).cleanTemps(ID)).toBe(1);
    expect((await w.fs.readdir(`${STATE_DIR}/runs`)).sort()).toEqual([`${ID}.fold`, `${ID}.json`]);
    await (await w.store()).removeCheckpoint(ID);
    expect(await w.fs.readdir(`${STATE_DIR}/runs`)).toEqual([`${ID}.json`]);
  });
});
