import { describe, expect, it } from 'vitest';
import { SimFs } from '../../../src/fs/sim.js';
import { FakeKernel } from '../../../src/kernel/fake/kernel.js';
import { zramAdd } from '../../../src/steps/kinds/zram-add.js';

const MiB = 1024 * 1024;

function setup() {
  const k = new FakeKernel(new SimFs());
  return { k, env: { kernel: k, midpoint: () => undefined } };
}

describe('zram.add undo', () => {
  it('removes the device the run made (id and diskseq recorded in the outcome)', async () => {
    const { k, env } = setup();
    const out = await zramAdd.apply({ disksize: 16 * MiB }, {}, env);
    expect(out).toMatchObject({ id: 0, diskseq: expect.any(Number) });
    await zramAdd.undo({ disksize: 16 * MiB }, out, env);
    expect(await k.zram.list()).toEqual([]);
  });

  it('leaves alone a device of the same id AND the same size that another program added after ours went away', async () => {
    const { k, env } = setup();
    const out = await zramAdd.apply({ disksize: 16 * MiB }, {}, env);
    await k.zram.reset(0);
    await k.zram.remove(0); // ours is gone (removed by hand)...
    const id = await k.zram.add(); // ...and someone else's takes its id and its size
    await k.zram.configure(id, { disksize: 16 * MiB });
    expect(id).toBe(0);
    const before = k.snapshotState();
    await zramAdd.undo({ disksize: 16 * MiB }, out, env);
    expect(k.snapshotState()).toEqual(before);
    expect(await zramAdd.probe({ disksize: 16 * MiB }, {}, out, env)).toEqual({ found: 'absent' });
  });

  it('an outcome from before diskseq was recorded (today’s journals) is still undone by the old rule', async () => {
    const { k, env } = setup();
    const { diskseq: _d, ...old } = await zramAdd.apply({ disksize: 16 * MiB }, {}, env);
    await zramAdd.undo({ disksize: 16 * MiB }, old, env);
    expect(await k.zram.list()).toEqual([]);
  });

  it('a failed sizing removes exactly the device the step added, and nothing else', async () => {
    const { k, env } = setup();
    const other = await k.zram.add();
    await expect(zramAdd.apply({ disksize: 16 * MiB, algorithm: 'no-such' }, {}, env)).rejects.toMatchObject({ code: 'EINVAL' });
    expect((await k.zram.list()).map((z) => z.id)).toEqual([other]);
  });
});

describe('zram.add in doubt (intent, no outcome)', () => {
  it('no new device since the intent: absent', async () => {
    const { k, env } = setup();
    await k.zram.add();
    const marker = await zramAdd.observe!({ disksize: 16 * MiB }, env);
    expect(await zramAdd.probe({ disksize: 16 * MiB }, marker, undefined, env)).toEqual({ found: 'absent' });
  });

  it('a device added since the intent, of the run’s size: flow cannot tell whose it is and asks the operator, with its exact commands', async () => {
    const { k, env } = setup();
    const marker = await zramAdd.observe!({ disksize: 16 * MiB }, env);
    const id = await k.zram.add(); // another program, in the window
    await k.zram.configure(id, { disksize: 16 * MiB });
    const seq = (await k.zram.list())[0]!.diskseq;
    const before = k.snapshotState();
    const res = await zramAdd.probe({ disksize: 16 * MiB }, marker, undefined, env);
    expect(res).toMatchObject({ found: 'unknown', commands: [`echo 1 > /sys/block/zram${id}/reset   # only if /dev/zram${id} (diskseq ${seq}) is this run's`, `echo ${id} > /sys/class/zram-control/hot_remove   # only if /dev/zram${id} (diskseq ${seq}) is this run's`] });
    expect(k.snapshotState()).toEqual(before);
  });

  it('a device removed and added again under the same id since the intent is new (diskseq), not one seen before', async () => {
    const { k, env } = setup();
    const id = await k.zram.add();
    const marker = await zramAdd.observe!({ disksize: 16 * MiB }, env);
    await k.zram.remove(id);
    expect(await k.zram.add()).toBe(id);
    expect((await zramAdd.probe({ disksize: 16 * MiB }, marker, undefined, env)).found).toBe('unknown');
  });

  it('an intent from before diskseq was recorded (marker `before`: ids) is still read', async () => {
    const { k, env } = setup();
    await k.zram.add();
    expect(await zramAdd.probe({ disksize: 16 * MiB }, { before: [0] }, undefined, env)).toEqual({ found: 'absent' });
    expect((await zramAdd.probe({ disksize: 16 * MiB }, { before: [] }, undefined, env)).found).toBe('unknown');
  });
});
