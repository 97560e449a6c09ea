import { describe, expect, it } from 'vitest';
import { SimFs } from '../../../src/fs/sim.js';
import { FakeKernel } from '../../../src/kernel/fake/kernel.js';
import { dirMake } from '../../../src/steps/kinds/dir-make.js';

/** Two runs planned on a host without /run/flow: both list it among the dirs they make. */
const A = { dirs: ['/run/flow', '/run/flow/aaaaaaaa', '/run/flow/aaaaaaaa/mnt'] };
const B = { dirs: ['/run/flow', '/run/flow/bbbbbbbb', '/run/flow/bbbbbbbb/mnt'] };

async function setup() {
  const fs = new SimFs();
  await fs.mkdir('/run', 0o755);
  const k = new FakeKernel(fs);
  const env = { kernel: k, midpoint: () => undefined };
  /** apply as the runner does: the intent's marker first; returns what undo needs */
  const make = async (a: { dirs: string[] }) => dirMake.apply(a, await dirMake.observe!(a, env), env);
  return { fs, env, make };
}

describe('dir.make with an ancestor shared by runs (/run/flow)', () => {
  it('a run planned before another one made /run/flow still makes its directories', async () => {
    const { fs, make } = await setup();
    await make(A);
    await make(B);
    expect((await fs.readdir('/run/flow')).sort()).toEqual(['aaaaaaaa', 'bbbbbbbb']);
  });

  it('the leaf must still be new: an existing mount point directory is refused', async () => {
    const { make } = await setup();
    await make(A);
    await expect(make(A)).rejects.toThrow(/\/run\/flow\/aaaaaaaa\/mnt exists: something else made it/);
  });

  it('after a reboot, a run whose /run/flow another run had made makes it again', async () => {
    const { fs, make } = await setup();
    await make({ dirs: ['/run/flow/bbbbbbbb', '/run/flow/bbbbbbbb/mnt'] });
    expect(await fs.readdir('/run/flow')).toEqual(['bbbbbbbb']);
  });

  it('rollbacks in any order remove what each run made, and nothing another made', async () => {
    for (const order of [['A', 'B'], ['B', 'A']]) {
      const { fs, env, make } = await setup();
      const out = { A: await make(A), B: await make(B) };
      const args = { A, B };
      for (const r of order as ('A' | 'B')[]) await dirMake.undo(args[r], out[r], env);
      // /run/flow is A's (B found it there): it goes only when A's rollback finds it empty
      expect(await fs.readdir('/run')).toEqual(order[0] === 'B' ? [] : ['flow']);
      if (order[0] === 'A') expect(await fs.readdir('/run/flow')).toEqual([]);
    }
  });

  it('an ancestor another rollback removed meanwhile is not an error', async () => {
    const { fs, env, make } = await setup();
    const out = await make(A);
    // another run's rollback removes /run/flow between this undo's look and its rmdir
    const racing = Object.assign(Object.create(fs) as SimFs, {
      rmdir: async (d: string) => {
        await fs.rmdir(d);
        if (d === '/run/flow') throw Object.assign(new Error(`ENOENT: rmdir ${d}`), { code: 'ENOENT' });
      },
    });
    await expect(dirMake.undo(A, out, { ...env, kernel: Object.assign(Object.create(env.kernel), { fs: racing }) })).resolves.toBeUndefined();
    expect(await fs.readdir('/run')).toEqual([]);
  });
});
