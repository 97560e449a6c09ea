/**
 * The fs.freeze step on the fake kernel: apply freezes, undo thaws; a step in doubt (its
 * intent recorded, fsfreeze perhaps never run) probes as applied while the mount is there,
 * and its undo takes "not frozen" as done; a filesystem another program froze is recorded
 * as such and never thawed; once the mount is gone there is nothing to thaw.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SimFs } from '../../../src/fs/sim.js';
import { createBackingFile } from '../../../src/kernel/files.js';
import { FakeKernel } from '../../../src/kernel/fake/index.js';
import { fsFreeze } from '../../../src/steps/kinds/fs-freeze.js';

const MiB = 1 << 20;
const target = '/work/mnt';

/** A fake kernel with an ext4 on a loop mounted at `target`. */
async function mounted(): Promise<{ kernel: FakeKernel; env: { kernel: FakeKernel; midpoint: () => void }; frozen: () => boolean }> {
  const fs = new SimFs();
  fs.putDir('/work');
  fs.putDir(target);
  const kernel = new FakeKernel(fs);
  await createBackingFile(fs, '/work/fs.img', 16 * MiB);
  await kernel.filesystems.mkfsExt4({ target: '/work/fs.img', uuid: randomUUID(), blockSize: 4096 });
  const loop = await kernel.loop.attach({ file: '/work/fs.img', readOnly: false });
  await kernel.mounts.mount({ source: loop.device, target, options: [] });
  const frozen = () => kernel.toJSON().mounts.some((m) => m.target === target && m.frozen === true);
  return { kernel, env: { kernel, midpoint: () => undefined }, frozen };
}

describe('fs.freeze step', () => {
  it('apply freezes, undo thaws', async () => {
    const { env, frozen } = await mounted();
    const out = await fsFreeze.apply({ target }, {}, env);
    expect(out).toEqual({ target, frozenBefore: false });
    expect(frozen()).toBe(true);
    await fsFreeze.undo({ target }, out, env);
    expect(frozen()).toBe(false);
  });

  it('in doubt, never frozen: probe says applied (the mount is there), undo takes EINVAL as done', async () => {
    const { env, frozen } = await mounted();
    const p = await fsFreeze.probe({ target }, {}, undefined, env);
    expect(p).toEqual({ found: 'applied', outputs: { target, frozenBefore: false } });
    await fsFreeze.undo({ target }, p.found === 'applied' ? p.outputs : {}, env);
    expect(frozen()).toBe(false);
  });

  it('frozen by another program (EBUSY): recorded as frozenBefore, undo leaves it frozen', async () => {
    const { kernel, env, frozen } = await mounted();
    await kernel.filesystems.freeze(target);
    const out = await fsFreeze.apply({ target }, {}, env);
    expect(out).toEqual({ target, frozenBefore: true });
    await fsFreeze.undo({ target }, out, env);
    expect(frozen()).toBe(true);
    await kernel.filesystems.thaw(target);
  });

  it('the mount gone: probe absent, undo does nothing; other failures (vfat: no FIFREEZE) are failures', async () => {
    const { kernel, env } = await mounted();
    await kernel.mounts.umount(target);
    expect(await fsFreeze.probe({ target }, {}, undefined, env)).toMatchObject({ found: 'absent' });
    await fsFreeze.undo({ target }, { target, frozenBefore: false }, env);
    expect(kernel.log.filter((l) => l.startsWith('filesystems.thaw'))).toEqual([]);
    await expect(fsFreeze.apply({ target }, {}, env)).rejects.toMatchObject({ code: 'EINVAL' });
  });

  it('commands: fsfreeze -f / -u with --', () => {
    expect(fsFreeze.commands({ target: '/mnt/a b' })).toEqual({ apply: ["fsfreeze -f -- '/mnt/a b'"], undo: ["fsfreeze -u -- '/mnt/a b'"] });
  });
});
