import { describe, expect, it } from 'vitest';
import { SimFs } from '../../../src/fs/sim.js';
import { FakeKernel } from '../../../src/kernel/fake/kernel.js';
import { dirMake } from '../../../src/steps/dir-make.js';

/** Two runs planned on a host without /run/flow: both list it among the dirs they make. */
const A = { dirs: ['/run/flow', '/run/flow/aaaaaaaa', '/run/flow/aaaaaaaa/mnt'] };
const B = { dirs: ['/run/flow', '/run/flow/bbbbbbbb', '/run/flow/bbbbbbbb/mnt'] };

async function setup() {
  const fs = new SimFs();
  await fs.mkdir('/run', 0o755);
  const k = new FakeKernel(fs);
  return { fs, env: { kernel: k, midpoint: () => undefined } };
}

describe('dir.make with an ancestor shared by runs (/run/flow)', () => {
  it('a run planned before another one made /run/flow still makes its directories', async () => {
    const { fs, env } = await setup();
    await dirMake.apply(A, {}, env);
    await dirMake.apply(B, {}, env);
    expect((await fs.readdir('/run/flow')).sort()).toEqual(['aaaaaaaa', 'bbbbbbbb']);
  });

  it('the leaf must still be new: an existing mount point directory is refused', async () => {
    const { env } = await setup();
    await dirMake.apply(A, {}, env);
    await expect(dirMake.apply(A, {}, env)).rejects.toThrow();
  });

  it('after a reboot, a run whose /run/flow another run had made makes it again', async () => {
    const { fs, env } = await setup();
    await dirMake.apply({ dirs: ['/run/flow/bbbbbbbb', '/run/flow/bbbbbbbb/mnt'] }, {}, env);
    expect(await fs.readdir('/run/flow')).toEqual(['bbbbbbbb']);
  });

  it('rollbacks in any order leave nothing but what no run owns', async () => {
    const { fs, env } = await setup();
    await dirMake.apply(A, {}, env);
    await dirMake.apply(B, {}, env);
    await dirMake.undo(A, {}, env);
    expect(await fs.readdir('/run/flow')).toEqual(['bbbbbbbb']);
    await dirMake.undo(B, {}, env);
    expect(await fs.readdir('/run')).toEqual([]);
  });

  it('an ancestor another rollback removed meanwhile is not an error', async () => {
    const { fs, env } = await setup();
    await dirMake.apply(A, {}, env);
    // another run's rollback removes /run/flow between this undo's look and its rmdir
    const racing = Object.assign(Object.create(fs) as SimFs, {
      rmdir: async (d: string) => {
        await fs.rmdir(d);
        if (d === '/run/flow') throw Object.assign(new Error(`ENOENT: rmdir ${d}`), { code: 'ENOENT' });
      },
    });
    await expect(dirMake.undo(A, {}, { ...env, kernel: Object.assign(Object.create(env.kernel), { fs: racing }) })).resolves.toBeUndefined();
    expect(await fs.readdir('/run')).toEqual([]);
  });
});
