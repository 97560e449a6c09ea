/**
 * Fake system facts: boot id (new after reboot), MemTotal, block device sizes.
 */
import { kerr, type Ctx } from './context.js';
import { deviceSize, findDevice } from './devices.js';

/** blockdev --getsize64 DEVICE */
export async function blockDeviceSize(ctx: Ctx, device: string): Promise<number> {
  const dev = findDevice(ctx.state, device);
  if (dev) return deviceSize(dev);
  const exists = await ctx.fs.stat(device).then(
    () => true,
    () => false,
  );
  if (exists) throw kerr('EINVAL', `blockdev: ${device}: not a block device (Inappropriate ioctl for device)`);
  throw kerr('ENOENT', `blockdev: cannot open ${device}: No such file or directory`);
}

/** /proc/sys/kernel/random/boot_id */
export function bootId(ctx: Ctx): string {
  return ctx.state.bootId;
}

/** MemTotal in bytes */
export function memTotal(ctx: Ctx): number {
  return ctx.state.memTotal;
}
