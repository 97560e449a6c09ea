/**
 * A partition param's value: the partition of an image the option names (`--NAME N`), or by
 * default the largest Linux partition (a whole image without a partition table), in
 * 512-byte sectors; refused when the table puts it (partly) past the end of the image.
 */
import { UsageError } from '../errors.js';
import type { Partition, PartitionTable } from '../kernel/types.js';
import type { PreflightEnv } from './types.js';
import { formatSize, parseInteger } from './values.js';

const EXTENDED = new Set(['5', 'f', '85', '0x5', '0xf', '0x85']);
const LINUX = new Set(['83', '0x83', '0fc63daf-8483-4772-8e79-3d69d8477de4']);

export interface ChosenPartition {
  /** null: the whole image (no partition table) */
  partition: number | null;
  partStart: number;
  partSectors: number;
}

/** `opt` names the option in messages (--partition, --root-partition). */
export async function choosePartition(env: PreflightEnv, image: string, bytes: number, rawPartition: string | undefined, opt = '--partition'): Promise<ChosenPartition> {
  const table = await env.kernel.partitions.read(image);
  if (rawPartition !== undefined) {
    const n = parseInteger(opt, rawPartition, 1, 128);
    if (!table) throw new UsageError(`${opt} ${n}: ${image} has no partition table`, `leave out ${opt} to use the whole image`);
    const p = table.partitions.find((x) => x.number === n);
    if (!p) throw new UsageError(`${opt} ${n} is out of range: ${image} has ${describe(table)}`, 'pick one of those numbers');
    if (EXTENDED.has(p.type.toLowerCase())) throw new UsageError(`${opt} ${n} is an extended partition (a container of other partitions)`, `pick a partition inside it: ${describe(table)}`);
    return fits(image, bytes, table, p);
  }
  if (!table) {
    if (bytes < 512) throw new UsageError(`${image} is smaller than one sector`, 'give a disk image');
    return { partition: null, partStart: 0, partSectors: Math.floor(bytes / 512) };
  }
  const linux = table.partitions.filter((p) => LINUX.has(p.type.toLowerCase())).sort((a, b) => b.size - a.size);
  if (!linux[0]) throw new UsageError(`${image} has no Linux partition: ${describe(table)}`, `choose one with ${opt} N`);
  return fits(image, bytes, table, linux[0]);
}

function fits(image: string, bytes: number, t: PartitionTable, p: Partition): ChosenPartition {
  const s = toSectors(t, p);
  if ((s.partStart + s.partSectors) * 512 > bytes) {
    throw new UsageError(
      `partition ${p.number} of ${image} ends at byte ${(s.partStart + s.partSectors) * 512}, past the end of the image (${bytes} bytes)`,
      'the image is truncated or its partition table is damaged: check it with sfdisk -l, or use another image',
    );
  }
  return s;
}

function toSectors(t: PartitionTable, p: Partition): ChosenPartition {
  return { partition: p.number, partStart: (p.start * t.sectorSize) / 512, partSectors: (p.size * t.sectorSize) / 512 };
}

function describe(t: PartitionTable): string {
  if (t.partitions.length === 0) return 'no partitions';
  return 'partitions ' + t.partitions.map((p) => `${p.number} (type ${p.type}, ${formatSize(p.size * t.sectorSize)})`).join(', ');
}
