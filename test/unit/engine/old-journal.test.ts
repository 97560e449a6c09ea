/**
 * Journals written by an older flow record a file's identity as {dev, ino} (no birth time),
 * dir.make outcomes as {dirs} and intents without a creation proof. They still resume and
 * roll back; where their identity cannot decide (the device changed at a reboot and there
 * is no birth time), flow stops for the operator and touches nothing.
 */
import { describe, expect, it } from 'vitest';
import { CrashSignal } from '../../../journal/durability.js';
import { NeedsOperatorError } from '../../../src/errors.js';
import { SCENARIOS } from '../../support/scenarios.js';
import { eventsOf, format1Bytes } from '../../support/journal-files.js';
import { STATE_DIR, World } from '../../support/world.js';

const ID = 'k3m9x2ab';
const sc = SCENARIOS.find((s) => s.workflow === 'delayed-device')!;
const DOC = `${STATE_DIR}/runs/${ID}.json`;
const FILE = '/img/slow.img';

/** Rewrites the run's journal as an older flow wrote it (a format-1 document): identities {dev, ino}, no proofs, dir.make outputs {dirs}. */
async function toOldShape(w: World): Promise<void> {
  const doc = { events: eventsOf(await w.fs.readFile(DOC), ID) };
  const strip = (o: Record<string, unknown> | undefined) => {
    if (o && typeof o === 'object') delete o.birth;
  };
  for (const e of doc.events) {
    if (e.type === 'RunStarted') strip(e.params.fileIdentity);
    if (e.type === 'StepIntended') {
      strip(e.args.identity);
      e.marker = Object.fromEntries(Object.entries(e.marker).filter(([k]) => !['temp', 'mtimeMs', 'stamps'].includes(k)));
    }
    if ((e.type === 'StepSucceeded' || e.type === 'StepProbed') && e.outputs) {
      strip(e.outputs);
      delete e.outputs.made;
    }
  }
  const bytes = format1Bytes(ID, doc.events);
  expect(bytes.toString('utf8')).not.toMatch(/"birth"|"made"|"stamps"|"mtimeMs"/);
  w.fs.putFile(DOC, bytes, { durable: true });
}

async function world(crashAt?: string): Promise<World> {
  const w = World.create();
  await sc.setup(w);
  w.crashAt = crashAt;
  await w.start(sc.workflow, sc.options, ID).catch((err: unknown) => {
    if (!(err instanceof CrashSignal)) throw err;
  });
  w.crashAt = undefined;
  w.processCrash();
  return w;
}

describe('a journal of the older shape', () => {
  it('a finished run rolls back: the file and the mount point it created are removed', async () => {
    const w = await world();
    const before = World.create();
    await sc.setup(before);
    await toOldShape(w);
    expect((await (await w.runner()).rollback(ID)).phase).toBe('rolled-back');
    expect(w.tree()).toEqual(before.tree());
    expect(w.kernel.snapshotState().dm.filter((d) => d.uuid.startsWith(`FLOW-${ID}-`))).toEqual([]);
  });

  it('a run stopped after its file was created resumes to the end, then rolls back exactly', async () => {
    const w = await world('apply:make-filesystem:before-intent');
    await toOldShape(w);
    expect((await (await w.runner()).resume(ID)).phase).toBe('done');
    expect((await w.fs.lstat(FILE)).size).toBe(64 * 1024 * 1024);
    expect((await (await w.runner()).rollback(ID)).phase).toBe('rolled-back');
    await expect(w.fs.lstat(FILE)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('after a reboot that renumbered the disk, {dev, ino} cannot tell: rollback stops for the operator and the file stays', async () => {
    const w = await world();
    await toOldShape(w);
    await w.powerCut(); // SimFs.powerCut: the disk comes back with another device number
    const err = await (await w.runner()).rollback(ID).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NeedsOperatorError);
    expect((err as NeedsOperatorError).message).toContain('create-file');
    expect((await w.fs.lstat(FILE)).size).toBe(64 * 1024 * 1024);
  });

  it('the same reboot with a journal of today (inode + birth time): rollback removes exactly what the run made', async () => {
    const w = await world();
    const before = World.create();
    await sc.setup(before);
    await w.powerCut();
    expect((await (await w.runner()).rollback(ID)).phase).toBe('rolled-back');
    expect(w.tree()).toEqual(before.tree());
  });
});
