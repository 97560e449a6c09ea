/** SystemFacility on the real kernel: boot id, memory, block device sizes. */
import { KernelError } from '../../errors.js';
import { runCommand } from '../exec.js';
import { parseMemTotal } from '../parse/meminfo.js';
import type { SystemFacility } from '../types.js';
import { readText } from './sysfs.js';

/** The real system facility. */
export function createRealSystem(): SystemFacility {
  return {
    bootId: () => readText('/proc/sys/kernel/random/boot_id'),
    memTotal: async () => parseMemTotal(await readText('/proc/meminfo')),
    async blockDeviceSize(device: string): Promise<number> {
      if (!device.startsWith('/')) throw new KernelError('EINVAL', `device must be an absolute path: ${JSON.stringify(device)}`);
      const out = (await runCommand(['blockdev', '--getsize64', device])).stdout.trim();
      if (!/^\d+$/.test(out)) throw new KernelError('EFAIL', `blockdev --getsize64 ${device} printed ${JSON.stringify(out)}`);
      return Number(out);
    },
  };
}
