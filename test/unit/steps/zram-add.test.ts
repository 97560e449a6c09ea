import { describe, expect, it } from 'vitest';
import { SimFs } from '../../../src/fs/sim.js';
import { FakeKernel } from '../../../src/kernel/fake/kernel.js';
import { zramAdd } from '../../../src/steps/zram-add.js';

const MiB = 1024 * 1024;

describe('zram.add undo', () => {
  it('removes the device the run sized', async () => {
    const k = new FakeKernel(new SimFs());
    const env = { kernel: k, midpoint: () => undefined };
    const out = await zramAdd.apply({ disksize: 16 * MiB }, {}, env);
    await zramAdd.undo({ disksize: 16 * MiB }, out, env);
    expect(await k.zram.list()).toEqual([]);
  });

  it('leaves alone a device that now has the id but not the run’s size (ours went away, the id was reused)', async () => {
    const k = new FakeKernel(new SimFs());
    const env = { kernel: k, midpoint: () => undefined };
    const id = await k.zram.add();
    await k.zram.configure(id, { disksize: 64 * MiB });
    const before = k.snapshotState();
    await zramAdd.undo({ disksize: 16 * MiB }, { id }, env);
    expect(k.snapshotState()).toEqual(before);
  });
});
