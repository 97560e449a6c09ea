import { describe, expect, it } from 'vitest';
import { SimFs } from '../../../src/fs/sim.js';
import { FakeKernel } from '../../../src/kernel/fake/kernel.js';
import { loopAttach, type LoopArgs } from '../../../src/steps/kinds/loop-attach.js';

async function setup() {
  const fs = new SimFs();
  fs.putDir('/img', { durable: true });
  fs.putFile('/img/a.img', { size: 8 << 20 }, { durable: true });
  const k = new FakeKernel(fs);
  const st = await fs.stat('/img/a.img');
  const args: LoopArgs = { file: '/img/a.img', identity: { dev: st.dev, ino: st.ino }, readOnly: true, offset: 0, sizeLimit: 0 };
  return { k, fs, args, env: { kernel: k, midpoint: () => undefined } };
}

describe('loop.attach identity', () => {
  it('the outcome names the binding by device and diskseq; undo detaches exactly it', async () => {
    const { k, args, env } = await setup();
    const out = await loopAttach.apply(args, {}, env);
    expect(out).toMatchObject({ device: '/dev/loop0', diskseq: expect.any(Number) });
    await loopAttach.undo(args, out, env);
    expect(await k.loop.list()).toEqual([]);
  });

  it('leaves alone the same device bound again to the same file by another program after ours went away', async () => {
    const { k, args, env } = await setup();
    const out = await loopAttach.apply(args, {}, env);
    await k.loop.detach('/dev/loop0'); // ours is gone...
    const theirs = await k.loop.attach({ file: '/img/a.img', readOnly: true }); // ...the same number, the same file
    expect(theirs.device).toBe('/dev/loop0');
    await loopAttach.undo(args, out, env);
    expect(await k.loop.list()).toEqual([theirs]);
    expect((await loopAttach.probe(args, {}, out, env)).found).toBe('absent');
  });

  it('an outcome from before diskseq was recorded (today’s journals) is still undone by device and backing identity', async () => {
    const { k, args, env } = await setup();
    const { diskseq: _d, ...old } = await loopAttach.apply(args, {}, env);
    await loopAttach.undo(args, old, env);
    expect(await k.loop.list()).toEqual([]);
  });
});

describe('loop.attach in doubt (intent, no outcome)', () => {
  it('no new binding of the file: absent; bindings of other files never count', async () => {
    const { k, fs, args, env } = await setup();
    const marker = await loopAttach.observe!(args, env);
    fs.putFile('/img/b.img', { size: 8 << 20 }, { durable: true });
    await k.loop.attach({ file: '/img/b.img', readOnly: true });
    expect(await loopAttach.probe(args, marker, undefined, env)).toEqual({ found: 'absent' });
  });

  it('a new binding of the file, made by another program in the window: the operator decides, nothing is detached', async () => {
    const { k, args, env } = await setup();
    const marker = await loopAttach.observe!(args, env);
    const theirs = await k.loop.attach({ file: '/img/a.img', readOnly: true });
    const res = await loopAttach.probe(args, marker, undefined, env);
    expect(res).toMatchObject({ found: 'unknown', commands: [`losetup -d /dev/loop0   # only if /dev/loop0 (diskseq ${theirs.diskseq}) is this run's`] });
    await expect(loopAttach.clean(args, marker, env)).rejects.toThrow(/cannot tell/);
    expect(await k.loop.list()).toEqual([theirs]);
  });

  it('an intent from before diskseq was recorded (marker `before`: devices) is still read', async () => {
    const { k, args, env } = await setup();
    await k.loop.attach({ file: '/img/a.img', readOnly: true });
    expect(await loopAttach.probe(args, { before: ['/dev/loop0'] }, undefined, env)).toEqual({ found: 'absent' });
  });
});
