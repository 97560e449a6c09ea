/** The kernel contract against FakeKernel over SimFs; cleanup also asserts nothing leaked. */
import { expect } from 'vitest';
import { SimFs } from '../../src/fs/sim.js';
import { FakeKernel } from '../../src/kernel/fake/index.js';
import { kernelContract } from './kernel-contract.js';

kernelContract('FakeKernel over SimFs', async () => {
  const fs = new SimFs();
  fs.putDir('/work');
  const kernel = new FakeKernel(fs);
  return {
    kernel,
    workdir: '/work',
    cleanup: async () => {
      expect(kernel.snapshotState()).toEqual({ loops: [], dm: [], zram: [], mounts: [] });
      expect(await fs.readdir('/work')).toEqual([]);
    },
  };
});
