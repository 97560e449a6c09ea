/** Parses `sfdisk --json` into a PartitionTable. Pure. */
import type { Partition, PartitionTable } from '../types.js';
import { parseError, toInt, toStr } from './values.js';

/**
 * The partition number of a node: the suffix after the disk's name, skipping the "p"
 * sfdisk inserts when the disk's name ends in a digit ("img.raw2" → 2,
 * "/dev/loop0p3" → 3). Without the disk name, the trailing digits.
 */
export function partitionNumber(node: string, device?: string): number {
  let suffix: string | undefined;
  if (device && node.startsWith(device)) suffix = node.slice(device.length).replace(/^p/, '');
  if (suffix === undefined || !/^\d+$/.test(suffix)) suffix = /(\d+)$/.exec(node)?.[1];
  if (suffix === undefined) throw parseError('sfdisk', `no partition number in node ${JSON.stringify(node)}`);
  return Number(suffix);
}

/** DOS extended containers (types 5, f, 85): listed by sfdisk, never a filesystem. */
export function isExtendedContainer(table: Pick<PartitionTable, 'label'>, p: Pick<Partition, 'type'>): boolean {
  return table.label === 'dos' && ['5', 'f', '85'].includes(p.type.toLowerCase());
}

/** `sfdisk --json FILE` output → label, sector size (default 512) and every partition, extended containers included. */
export function parseSfdiskJson(text: string): PartitionTable {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw parseError('sfdisk', `not JSON (${(err as Error).message})`);
  }
  const t = (doc as { partitiontable?: Record<string, unknown> }).partitiontable;
  if (!t || typeof t !== 'object') throw parseError('sfdisk', 'no "partitiontable" object');
  const device = toStr(t.device) || undefined;
  const parts = Array.isArray(t.partitions) ? (t.partitions as Record<string, unknown>[]) : [];
  const id = toStr(t.id);
  return {
    label: toStr(t.label),
    ...(id ? { id } : {}),
    sectorSize: t.sectorsize === undefined ? 512 : toInt(t.sectorsize, 'sfdisk', 'sectorsize'),
    partitions: parts.map((p) => {
      const node = toStr(p.node);
      const uuid = toStr(p.uuid);
      return {
        number: partitionNumber(node, device),
        node,
        start: toInt(p.start, 'sfdisk', 'start'),
        size: toInt(p.size, 'sfdisk', 'size'),
        type: toStr(p.type),
        ...(uuid ? { uuid } : {}),
      };
    }),
  };
}
