/** SystemFacility on the real kernel: boot id, memory, block device sizes, reading a block device. */
import { KernelError } from '../../errors.js';
import type { Fs } from '../../fs/types.js';
import { runCommand } from '../exec.js';
import { parseMemTotal } from '../parse/meminfo.js';
import type { DeviceReader, SystemFacility } from '../types.js';
import { readText } from './sysfs.js';

function checkDevice(device: string): void {
  if (!device.startsWith('/')) throw new KernelError('EINVAL', `device must be an absolute path: ${JSON.stringify(device)}`);
}

/** The real system facility; `fs` opens the block devices it reads. */
export function createRealSystem(fs: Fs): SystemFacility {
  return {
    bootId: () => readText('/proc/sys/kernel/random/boot_id'),
    memTotal: async () => parseMemTotal(await readText('/proc/meminfo')),
    async blockDeviceSize(device: string): Promise<number> {
      checkDevice(device);
      const out = (await runCommand(['blockdev', '--getsize64', device])).stdout.trim();
      if (!/^\d+$/.test(out)) throw new KernelError('EFAIL', `blockdev --getsize64 ${device} printed ${JSON.stringify(out)}`);
      return Number(out);
    },
    async openBlockDevice(device: string): Promise<DeviceReader> {
      checkDevice(device);
      // "cannot open DEV: No such file or directory" (ENOENT); a regular file: "BLKFLSBUF: Inappropriate ioctl for device" (EINVAL)
      await runCommand(['blockdev', '--flushbufs', device]);
      return fs.open(device, { mode: 'read' });
    },
  };
}
