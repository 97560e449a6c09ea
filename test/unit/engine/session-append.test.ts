/**
 * Session.append: the machine judges an event before it is written (a runner bug cannot
 * make a journal corrupt), and an fdatasync that fails after the event was appended to
 * the log (fsyncgate) leaves memory telling what the disk holds, stops every further
 * write, and the next open trusts the disk.
 */
import { describe, expect, it } from 'vitest';
import { JournalWriteError } from '../../../src/errors.js';
import { Session } from '../../../src/engine/session.js';
import { SCENARIOS } from '../../support/scenarios.js';
import { STATE_DIR, World } from '../../support/world.js';

const ID = 'k3m9x2ab';
const sc = SCENARIOS.find((s) => s.workflow === 'delayed-device')!;
const RUNS = `${STATE_DIR}/runs`;

async function doneRun(): Promise<World> {
  const w = World.create();
  await sc.setup(w);
  await w.start(sc.workflow, sc.options, ID);
  return w;
}

async function diskEvents(w: World) {
  return (await (await w.store()).load(ID)).events;
}

describe('Session.append checks the event against the machine before writing it', () => {
  it('an event the machine refuses is not written: the journal stays readable and the run goes on', async () => {
    const w = await doneRun();
    const before = await diskEvents(w);
    const s = Session.open(await (await w.store()).load(ID));
    // a runner bug: an outcome for a step that is not in doubt
    await expect(s.append({ type: 'StepSucceeded', step: 'attach-file', outputs: {} })).rejects.toThrow(/internal error in run k3m9x2ab: event \d+ \(StepSucceeded attach-file\) does not fit/);
    expect(s.journal.events).toEqual(before);
    expect(await diskEvents(w)).toEqual(before);
    // the journal is not corrupt: it opens and the run can still be rolled back exactly
    expect(Session.open(await (await w.store()).load(ID)).phase).toBe('done');
    expect((await (await w.runner()).rollback(ID)).phase).toBe('rolled-back');
    expect(w.kernel.snapshotState().dm.filter((d) => d.uuid.startsWith(`FLOW-${ID}-`))).toEqual([]);
  });
});

describe('an fdatasync that fails after the append (fsyncgate)', () => {
  it('memory holds what the disk holds, and no later append writes over it', async () => {
    const w = await doneRun();
    const s = Session.open(await (await w.store()).load(ID));
    const n = s.journal.events.length;
    w.fs.injectFault({ op: 'sync', pathPrefix: RUNS, code: 'EIO', times: 1 });
    const err = await s.append({ type: 'RollbackStarted', reason: 'requested' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).detail).toMatch(/^fdatasync: /);
    expect((err as JournalWriteError).hint).toContain('(RollbackStarted) was written but the filesystem failed to make it durable; flow stopped');
    // the record was written: the log holds the event; so do memory and the machine
    const disk = await diskEvents(w);
    expect(disk).toHaveLength(n + 1);
    expect(s.journal.events).toEqual(disk);
    expect(s.phase).toBe(Session.open(await (await w.store()).load(ID)).phase);
    expect(s.phase).toBe('rollback');
    // the filesystem "recovers": still no write from this process (a retry could not make the lost write durable)
    const later = await s.append({ type: 'UndoIntended', step: 'mount', bootId: s.state.bootId }).catch((e: unknown) => e);
    expect(later).toBeInstanceOf(JournalWriteError);
    expect((later as JournalWriteError).detail).toContain('an earlier write of this journal failed after its event reached the file');
    expect(await diskEvents(w)).toEqual(disk);
  });

  it('at a step outcome: the next step does not start; the next open trusts the disk and the run finishes exactly', async () => {
    const ref = World.create();
    await sc.setup(ref);
    await ref.start(sc.workflow, sc.options, ID);
    const seq = (await diskEvents(ref)).find((e) => e.type === 'StepSucceeded' && e.step === 'create-delay')!.seq;
    const w = World.create();
    await sc.setup(w);
    // one file sync in runs/ per event written (the new log's fsync, then an fdatasync per append): `seq` of them succeed
    w.fs.injectFault({ op: 'sync', pathPrefix: RUNS, code: 'EIO', after: seq, times: 1 });
    const err = await w.start(sc.workflow, sc.options, ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).hint).toContain('(StepSucceeded create-delay) was written but the filesystem failed to make it durable');
    expect(w.kernel.snapshotState().mounts).toEqual([]);
    const disk = await diskEvents(w);
    expect(disk.at(-1)).toMatchObject({ type: 'StepSucceeded', step: 'create-delay', seq });
    expect(w.reported.map((e) => e.seq)).toEqual(disk.slice(0, -1).map((e) => e.seq));
    w.processCrash();
    expect((await (await w.runner()).resume(ID)).phase).toBe('done');
    expect(w.kernel.snapshotState()).toEqual(ref.kernel.snapshotState());
  });
});
