/** /sys/block/NAME/diskseq: the kernel's own identity of a block device (Linux >= 5.15). */
import { KernelError } from '../../errors.js';
import { exists, readText } from './sysfs.js';

/**
 * /sys/block/NAME/diskseq; null when the device is gone. A kernel without diskseq (before
 * 5.15) is refused: flow identifies its loop and zram devices by it.
 */
export async function readDiskseq(name: string): Promise<number | null> {
  const dir = `/sys/block/${name}`;
  let text: string;
  try {
    text = await readText(`${dir}/diskseq`);
  } catch (err) {
    if (!(await exists(dir))) return null;
    throw new KernelError('ENOTSUP', `${dir}/diskseq is unreadable (${(err as Error).message}): flow needs Linux 5.15 or newer, whose block devices carry a diskseq`);
  }
  if (!/^\d+$/.test(text)) throw new KernelError('EFAIL', `${dir}/diskseq holds ${JSON.stringify(text)}`);
  return Number(text);
}
