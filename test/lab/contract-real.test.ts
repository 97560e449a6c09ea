/**
 * The kernel contract against the real kernel (losetup, dmsetup, zram sysfs, mount, blkid,
 * mkfs.ext4, sfdisk) over the real filesystem. Runs in the kernel lab only:
 *   scripts/lab run -q -- npx vitest run --project lab
 * Each case works in its own temp directory; its cleanup asserts that nothing it made is
 * left (no loop on a file of the workdir, no dm device named flowct-*, no new zram id,
 * no mount below the workdir), then removes the directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { realFs } from '../../src/fs/real.js';
import { createRealKernel } from '../../src/kernel/real/index.js';
import { kernelContract } from '../contract/kernel-contract.js';
import { requireLab } from './lab-env.js';

requireLab();

kernelContract('real kernel (lab)', async () => {
  const kernel = createRealKernel(realFs);
  const workdir = await realFs.realpath(await mkdtemp(join(tmpdir(), 'flow-contract-')));
  const zramBefore = new Set((await kernel.zram.list()).map((z) => z.id));
  return {
    kernel,
    workdir,
    cleanup: async () => {
      const loops = (await kernel.loop.list()).filter((l) => l.backingFile.startsWith(`${workdir}/`));
      const dms = (await kernel.dm.list()).filter((d) => d.name.startsWith('flowct-'));
      const zrams = (await kernel.zram.list()).filter((z) => !zramBefore.has(z.id));
      const mounts = (await kernel.mounts.list()).filter((m) => m.target.startsWith(`${workdir}/`));
      const left = await realFs.readdir(workdir);
      // never rm -r through a leaked mount
      if (mounts.length === 0) await rm(workdir, { recursive: true, force: true });
      expect({ loops, dms, zrams, mounts, left }).toEqual({ loops: [], dms: [], zrams: [], mounts: [], left: [] });
    },
  };
});
