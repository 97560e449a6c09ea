import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../support/scenarios.js';
import { World } from '../../support/world.js';

const ID = 'k3m9x2ab';
/** The steps of each workflow that make a dm device (its UUID: FLOW-<id>-<step>), sorted. */
const DM_STEPS: Record<string, string[]> = { 'snapshot-image': ['create-base', 'create-snapshot'], 'delayed-device': ['create-delay'], 'loop-mount': [] };

describe.each(SCENARIOS.map((s) => [s.workflow, s] as const))('%s on the fake kernel', (_name, sc) => {
  it('runs to done, then rollback restores the kernel and files exactly', async () => {
    const w = World.create();
    await sc.setup(w);
    const kernelBefore = w.kernel.snapshotState();
    const treeBefore = w.tree();
    const out = await w.start(sc.workflow, sc.options, ID);
    expect(out.phase).toBe('done');
    expect(out.state.steps.every((s) => s.status === 'applied')).toBe(true);
    const during = w.kernel.snapshotState();
    expect(during.dm.filter((d) => d.uuid.startsWith(`FLOW-${ID}-`)).map((d) => d.uuid).sort()).toEqual(DM_STEPS[sc.workflow]!.map((step) => `FLOW-${ID}-${step}`));
    expect(during.mounts.length).toBe(kernelBefore.mounts.length + 1);

    const back = await (await w.runner()).rollback(ID);
    expect(back.phase).toBe('rolled-back');
    expect(w.kernel.snapshotState()).toEqual(kernelBefore);
    expect(w.tree()).toEqual(treeBefore);
  });
});

describe('snapshot-image specifics', () => {
  it('builds linear+zero base and a zram-backed snapshot with the exact tables', async () => {
    const w = World.create();
    await SCENARIOS[0]!.setup(w);
    const out = await w.start('snapshot-image', SCENARIOS[0]!.options, ID);
    const o = Object.fromEntries(out.state.steps.map((s) => [s.name, s.outputs]));
    const snap = w.kernel.snapshotState();
    const base = snap.dm.find((d) => d.name === `flow-${ID}-base`)!;
    expect(base.uuid).toBe(`FLOW-${ID}-create-base`);
    expect(base.table).toEqual([`0 98304 linear ${o['attach-image']!.majmin} 24576`, `98304 163840 zero`]);
    const top = snap.dm.find((d) => d.name === `flow-${ID}`)!;
    expect(top.table).toEqual([`0 262144 snapshot ${o['create-base']!.majmin} ${o['add-cow']!.majmin} N 16`]);
    expect(snap.mounts.find((m) => m.target === `/run/flow/${ID}/mnt`)).toBeTruthy();
    expect(out.state.steps.map((s) => s.name)).toEqual(['attach-image', 'read-partition-table', 'create-base', 'add-cow', 'create-snapshot', 'make-mountpoint', 'mount', 'grow-filesystem']);
  });

  it('the image is bit-for-bit unchanged by the run and its rollback', async () => {
    const w = World.create();
    await SCENARIOS[0]!.setup(w);
    const before = await w.fileHash('/img/raspios.img');
    await w.start('snapshot-image', SCENARIOS[0]!.options, ID);
    expect(await w.fileHash('/img/raspios.img')).toBe(before);
    await (await w.runner()).rollback(ID);
    expect(await w.fileHash('/img/raspios.img')).toBe(before);
  });
});
