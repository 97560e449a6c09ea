import { describe, expect, it } from 'vitest';
import { buildTrees } from '../../../src/cli/show/tree.js';
import { kernelCode } from '../../../src/errors.js';
import { readOnceView } from '../../../src/kernel/read-view.js';
import type { Kernel } from '../../../src/kernel/types.js';
import type { RunOutcome } from '../../../src/engine/runner.js';
import { SCENARIOS } from '../../support/scenarios.js';
import { World } from '../../support/world.js';

const ID = 'k3m9x2ab';
const FACILITIES = ['loop', 'dm', 'zram', 'mounts', 'filesystems', 'partitions', 'system'] as const;

/** `kernel` with every facility call counted by "facility.method". */
function counted(kernel: Kernel): { kernel: Kernel; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const wrapped = { fs: kernel.fs } as Record<string, unknown>;
  for (const f of FACILITIES) {
    const facility = kernel[f] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    wrapped[f] = Object.fromEntries(
      Object.keys(facility).map((m) => [m, (...a: unknown[]) => (calls.set(`${f}.${m}`, (calls.get(`${f}.${m}`) ?? 0) + 1), facility[m]!(...a))]),
    );
  }
  return { kernel: wrapped as unknown as Kernel, calls };
}

async function doneRun(workflow: string): Promise<{ w: World; state: RunOutcome['state'] }> {
  const w = World.create();
  const sc = SCENARIOS.find((s) => s.workflow === workflow)!;
  await sc.setup(w);
  const out = await w.start(sc.workflow, sc.options, ID);
  expect(out.phase).toBe('done');
  return { w, state: out.state };
}

describe('readOnceView: the kernel as flow show reads it', () => {
  it.each(['snapshot-image', 'delayed-device', 'loop-mount'])('%s: the device tree drawn twice (as show probes each step twice) lists each facility once, and says what the kernel itself says', async (workflow) => {
    const { w, state } = await doneRun(workflow);
    const direct = await buildTrees(w.kernel, state);
    const { kernel, calls } = counted(w.kernel);
    const view = readOnceView(kernel);
    expect(await buildTrees(view, state)).toEqual(direct);
    const once = new Map(calls);
    expect(await buildTrees(view, state)).toEqual(direct);
    // the second drawing asked the kernel nothing; the listings were taken once in all
    expect(calls).toEqual(once);
    for (const listing of ['loop.list', 'dm.list', 'zram.list', 'mounts.list']) expect(calls.get(listing) ?? 0, listing).toBeLessThanOrEqual(1);
  });

  it('each caller gets its own copy of an answer', async () => {
    const { w } = await doneRun('delayed-device');
    const view = readOnceView(w.kernel);
    const first = await view.loop.list();
    expect(first.length).toBeGreaterThan(0);
    first.pop();
    expect(await view.loop.list()).toEqual(await w.kernel.loop.list());
  });

  it('a filesystem probe at no offset and at offset 0 is one question (blkid without -O); another offset is another', async () => {
    const { w } = await doneRun('delayed-device');
    const { kernel, calls } = counted(w.kernel);
    const view = readOnceView(kernel);
    const file = '/img/slow.img';
    expect(await view.filesystems.probe(file)).toEqual(await w.kernel.filesystems.probe(file));
    expect(await view.filesystems.probe(file, 0)).toEqual(await w.kernel.filesystems.probe(file));
    expect(calls.get('filesystems.probe')).toBe(1);
    await view.filesystems.probe(file, 4096);
    expect(calls.get('filesystems.probe')).toBe(2);
  });

  it('refuses every call that would change the kernel (EPERM), and the kernel is unchanged', async () => {
    const { w } = await doneRun('delayed-device');
    const before = w.kernel.snapshotState();
    const view = readOnceView(w.kernel);
    const loop = (await view.loop.list())[0]!;
    const changes: Promise<unknown>[] = [
      view.loop.attach({ file: '/img/slow.img', readOnly: true }),
      view.loop.detach(loop.device),
      view.dm.create({ name: 'x', uuid: 'X', table: ['0 8 zero'] }),
      view.dm.resume('x'),
      view.dm.remove(`FLOW-${ID}-create-delay`),
      view.zram.add(),
      view.zram.configure(0, { disksize: 4096 }),
      view.zram.reset(0),
      view.zram.remove(0),
      view.mounts.mount({ source: loop.device, target: '/mnt', options: [] }),
      view.mounts.umount('/mnt'),
      view.filesystems.mkfsExt4({ target: loop.device, uuid: '00000000-0000-4000-8000-000000000001', blockSize: 4096 }),
      view.filesystems.mkfsVfat({ target: loop.device, volumeId: '00000001' }),
      view.filesystems.grow(loop.device),
      view.filesystems.freeze('/mnt'),
      view.filesystems.thaw('/mnt'),
      view.filesystems.sync('/mnt'),
      view.system.openBlockDevice(loop.device),
    ];
    for (const c of changes) expect(kernelCode(await c.then(() => null, (e: unknown) => e))).toBe('EPERM');
    expect(w.kernel.snapshotState()).toEqual(before);
  });
});
