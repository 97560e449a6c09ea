/** The real kernel: every facility backed by the host's tools and sysfs. */
import type { Fs } from '../../fs/types.js';
import type { Kernel } from '../types.js';
import { createRealDm } from './dm.js';
import { createRealFilesystems } from './filesystems.js';
import { createRealLoop } from './loop.js';
import { createRealMounts } from './mounts.js';
import { createRealPartitions } from './partitions.js';
import { createRealSystem } from './system.js';
import { createRealZram } from './zram.js';

/** A Kernel that acts on this host; `fs` is used as given (files and directories). */
export function createRealKernel(fs: Fs): Kernel {
  return {
    loop: createRealLoop(),
    dm: createRealDm(),
    zram: createRealZram(),
    mounts: createRealMounts(),
    filesystems: createRealFilesystems(),
    partitions: createRealPartitions(),
    system: createRealSystem(fs),
    fs,
  };
}

export { createRealDm, createRealFilesystems, createRealLoop, createRealMounts, createRealPartitions, createRealSystem, createRealZram };
