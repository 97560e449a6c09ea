/**
 * A journal write that fails (ENOSPC, EIO) stops the run where it is, and the error says
 * what that means: the step whose intent could not be written did not start; the step
 * whose outcome could not be written is in doubt. Recovery afterwards is exact.
 * (The same on a real full / failing filesystem: test/lab/faults-real.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import type { FlowEvent } from '../../../journal/events.js';
import { JournalWriteError } from '../../../src/errors.js';
import { SCENARIOS } from '../../support/scenarios.js';
import { STATE_DIR, World } from '../../support/world.js';

const ID = 'k3m9x2ab';
const sc = SCENARIOS.find((s) => s.workflow === 'delayed-device')!;

/** The sequence number of the first event matching, in an undisturbed run. */
async function seqOf(match: (e: FlowEvent) => boolean): Promise<number> {
  const w = World.create();
  await sc.setup(w);
  await w.start(sc.workflow, sc.options, ID);
  return (await (await w.store()).load(ID)).events.find(match)!.seq;
}

async function failingAt(seq: number, code: string): Promise<{ w: World; err: JournalWriteError; before: ReturnType<World['kernel']['snapshotState']> }> {
  const w = World.create();
  await sc.setup(w);
  const before = w.kernel.snapshotState();
  // each event is one write of a whole new document: `seq` of them succeed
  w.fs.injectFault({ op: 'write', pathPrefix: `${STATE_DIR}/runs/`, code, after: seq });
  const err = await w.start(sc.workflow, sc.options, ID).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JournalWriteError);
  w.fs.clearFaults();
  w.processCrash();
  return { w, err: err as JournalWriteError, before };
}

describe('a journal write that fails', () => {
  it('at the start: the run is not recorded and nothing was done; the error says to start it again', async () => {
    const w = World.create();
    await sc.setup(w);
    const before = w.kernel.snapshotState();
    const tree = w.tree();
    w.fs.injectFault({ op: 'write', pathPrefix: `${STATE_DIR}/runs/`, code: 'ENOSPC' });
    const err = await w.start(sc.workflow, sc.options, ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).hint).toBe(`the run was not recorded, so nothing was done; free space on (or repair) the filesystem of the state directory ${STATE_DIR}, then start it again`);
    expect(await w.fs.readdir(`${STATE_DIR}/runs`)).toEqual([]);
    expect(w.kernel.snapshotState()).toEqual(before);
    expect(w.tree()).toEqual(tree);
  });

  it('at an intent: the step does not start, the error says so; resume afterwards finishes the run', async () => {
    const seq = await seqOf((e) => e.type === 'StepIntended' && e.step === 'create-delay');
    const { w, err } = await failingAt(seq, 'ENOSPC');
    expect(err.code).toBe('ENOSPC');
    expect(err.message).toContain(`cannot write journal ${STATE_DIR}/runs/${ID}.json`);
    expect(err.hint).toContain('step create-delay did not start');
    expect(err.hint).toContain(`the state directory ${STATE_DIR}`);
    expect(err.hint).toContain(`flow resume ${ID}`);
    expect(w.kernel.snapshotState().dm.filter((d) => d.uuid.startsWith(`FLOW-${ID}-`))).toEqual([]);
    const events = (await (await w.store()).load(ID)).events;
    expect(events).toHaveLength(seq);
    expect(events.at(-1)).toMatchObject({ type: 'StepSucceeded', step: 'attach-file' });
    expect((await (await w.runner()).resume(ID)).phase).toBe('done');
  });

  it('at an outcome: the step is reported in doubt; rollback probes it and restores the host', async () => {
    const seq = await seqOf((e) => e.type === 'StepSucceeded' && e.step === 'create-delay');
    const { w, err, before } = await failingAt(seq, 'EIO');
    expect(err.code).toBe('EIO');
    expect(err.hint).toContain('step create-delay ran, but its outcome is not recorded: create-delay is in doubt');
    expect(err.hint).toContain(`flow rollback ${ID}`);
    expect(w.kernel.snapshotState().dm.filter((d) => d.uuid === `FLOW-${ID}-create-delay`)).toHaveLength(1);
    const out = await (await w.runner()).rollback(ID);
    expect(out.phase).toBe('rolled-back');
    const events = (await (await w.store()).load(ID)).events;
    expect(events.find((e) => e.type === 'StepProbed' && e.step === 'create-delay')).toMatchObject({ found: 'applied' });
    expect(w.kernel.snapshotState()).toEqual(before);
  });

  it('at an undo intent: that undo does not start, the error says so; rollback afterwards finishes', async () => {
    const done = async () => {
      const w = World.create();
      await sc.setup(w);
      await w.start(sc.workflow, sc.options, ID);
      return { w, n: (await (await w.store()).load(ID)).events.length };
    };
    const clean = await done();
    await (await clean.w.runner()).rollback(ID);
    const at = (await (await clean.w.store()).load(ID)).events.find((e) => e.type === 'UndoIntended' && e.step === 'create-delay')!.seq;
    const { w, n } = await done();
    w.fs.injectFault({ op: 'write', pathPrefix: `${STATE_DIR}/runs/`, code: 'EIO', after: at - n });
    const err = await (await w.runner()).rollback(ID).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(JournalWriteError);
    expect((err as JournalWriteError).hint).toMatch(/^the undo of create-delay did not start; /);
    expect(w.kernel.snapshotState().dm.filter((d) => d.uuid === `FLOW-${ID}-create-delay`)).toHaveLength(1);
    w.fs.clearFaults();
    w.processCrash();
    expect((await (await w.runner()).rollback(ID)).phase).toBe('rolled-back');
    expect(w.kernel.snapshotState().dm.filter((d) => d.uuid.startsWith(`FLOW-${ID}-`))).toEqual([]);
  });
});
