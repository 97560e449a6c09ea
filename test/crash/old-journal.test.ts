/**
 * Journals written by flow before diskseq was recorded (markers `before`, outcomes without
 * `diskseq`) still resume and roll back exactly.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CrashSignal } from '../../journal/durability.js';
import { SCENARIOS } from '../support/scenarios.js';
import { eventsOf, format1Bytes } from '../support/journal-files.js';
import { STATE_DIR, World } from '../support/world.js';
import { endState } from '../../src/verify/matrix.js';
import { ID } from '../../src/verify/operator.js';

const sc = SCENARIOS.find((s) => s.workflow === 'snapshot-image')!;

/** Rewrites the run's journal as flow wrote it before (a format-1 document): ids / devices only, no diskseq. */
async function toOldShape(w: World): Promise<number> {
  const path = `${STATE_DIR}/runs/${ID}.json`;
  const doc = { events: eventsOf(Buffer.from(await w.fs.readFile(path)), ID) };
  let changed = 0;
  for (const e of doc.events) {
    if (e.type === 'StepIntended' && Array.isArray(e.marker?.seen)) {
      e.marker = { before: e.marker.seen.map((s: { id?: number; device?: string }) => s.id ?? s.device) };
      changed++;
    }
    if ((e.type === 'StepSucceeded' || e.type === 'StepProbed') && e.outputs && 'diskseq' in e.outputs) {
      delete e.outputs.diskseq;
      changed++;
    }
  }
  w.fs.putFile(path, format1Bytes(ID, doc.events), { durable: true });
  return changed;
}

async function prepared(): Promise<{ base: World; baseline: unknown; reference: unknown }> {
  const base = World.create();
  await sc.setup(base);
  const ref = base.clone();
  await ref.start(sc.workflow, sc.options, ID);
  return { base, baseline: endState(base), reference: endState(ref) };
}

describe('a journal from before diskseq (today’s main)', () => {
  it('a finished run rolls back exactly', async () => {
    const { base, baseline } = await prepared();
    const w = base.clone();
    await w.start(sc.workflow, sc.options, ID);
    expect(await toOldShape(w)).toBe(4); // two markers, two outcomes
    const r = await (await w.runner()).rollback(ID);
    expect(r.phase).toBe('rolled-back');
    expect(isDeepStrictEqual(endState(w), baseline)).toBe(true);
  });

  it('a run that crashed after its loop and zram steps resumes to done, then rolls back exactly', async () => {
    const { base, baseline, reference } = await prepared();
    const w = base.clone();
    w.crashAt = 'apply:create-snapshot:intent-synced';
    await expect(w.start(sc.workflow, sc.options, ID)).rejects.toBeInstanceOf(CrashSignal);
    w.crashAt = undefined;
    w.processCrash();
    expect(await toOldShape(w)).toBe(4);
    expect((await (await w.runner()).resume(ID)).phase).toBe('done');
    expect(endState(w)).toEqual(reference);
    expect((await (await w.runner()).rollback(ID)).phase).toBe('rolled-back');
    expect(endState(w)).toEqual(baseline);
  });
});
