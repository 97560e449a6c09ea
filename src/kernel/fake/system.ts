/**
 * Fake system facts: boot id (new after reboot), MemTotal, block device sizes, reading a block
 * device (the fake has no page cache to drop: a read returns what the device holds).
 */
import { readDevice } from './blockio.js';
import { kerr, type Ctx } from './context.js';
import { deviceSize, findDevice, type Dev } from './devices.js';

/** The block device `device` names, as blockdev finds it: ENOENT when nothing is there, EINVAL for another kind of file. */
async function blockDevice(ctx: Ctx, device: string): Promise<Dev> {
  const dev = findDevice(ctx.state, device);
  if (dev) return dev;
  const exists = await ctx.fs.stat(device).then(
    () => true,
    () => false,
  );
  if (exists) throw kerr('EINVAL', `blockdev: ${device}: not a block device (Inappropriate ioctl for device)`);
  throw kerr('ENOENT', `blockdev: cannot open ${device}: No such file or directory`);
}

/** blockdev --getsize64 DEVICE */
export async function blockDeviceSize(ctx: Ctx, device: string): Promise<number> {
  return deviceSize(await blockDevice(ctx, device));
}

/** blockdev --flushbufs DEVICE before the open: checks there is such a block device. */
export async function openBlockDevice(ctx: Ctx, device: string): Promise<void> {
  await blockDevice(ctx, device);
}

/** A read of the device opened by openBlockDevice: fewer bytes at its end, as read(2) gives; ENXIO once it is gone. */
export async function readBlockDevice(ctx: Ctx, device: string, offset: number, length: number): Promise<Uint8Array> {
  const dev = findDevice(ctx.state, device);
  if (!dev) throw kerr('ENXIO', `${device}: No such device or address`);
  const bytes = await readDevice(ctx, dev, offset, length);
  return bytes.subarray(0, Math.max(0, Math.min(length, deviceSize(dev) - offset)));
}

/** /proc/sys/kernel/random/boot_id */
export function bootId(ctx: Ctx): string {
  return ctx.state.bootId;
}

/** MemTotal in bytes */
export function memTotal(ctx: Ctx): number {
  return ctx.state.memTotal;
}
