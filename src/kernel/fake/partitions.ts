/**
 * Fake `sfdisk --json`: parses a DOS (MBR) partition table from the first sector of a
 * file or fake device — four entries at byte 446, signature 0x55AA at 510 — and the
 * EBR chain of an extended container (types 5, f, 85), whose logical partitions are
 * numbered from 5. Containers are listed too, as sfdisk does.
 */
import type { Partition, PartitionTable } from '../types.js';
import { le } from './bytes.js';
import type { Ctx } from './context.js';
import { readTarget } from './filesystems.js';

const SECTOR = 512;
const EXTENDED = [0x05, 0x0f, 0x85];
const MAX_LOGICAL = 128;

interface Entry {
  type: number;
  start: number;
  size: number;
}

function entries(sector: Uint8Array): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < 4; i++) {
    const at = 446 + 16 * i;
    out.push({ type: sector[at + 4] ?? 0, start: le.u32(sector, at + 8), size: le.u32(sector, at + 12) });
  }
  return out;
}

const signed = (sector: Uint8Array) => sector.length === SECTOR && sector[510] === 0x55 && sector[511] === 0xaa;

/** The partition node name sfdisk prints: FILE1, or FILEp1 when FILE ends in a digit. */
export function partitionNode(file: string, n: number): string {
  return /\d$/.test(file) ? `${file}p${n}` : `${file}${n}`;
}

/** Reads the table; null when the first sector carries no MBR signature. */
export async function readPartitions(ctx: Ctx, file: string): Promise<PartitionTable | null> {
  const mbr = await readTarget(ctx, file, 0, SECTOR);
  if (!signed(mbr)) return null;
  const partitions: Partition[] = [];
  const add = (number: number, e: Entry) => partitions.push({ number, node: partitionNode(file, number), start: e.start, size: e.size, type: e.type.toString(16) });
  let logical = 5;
  for (const [i, e] of entries(mbr).entries()) {
    if (e.type === 0 || e.size === 0) continue;
    add(i + 1, e);
    if (!EXTENDED.includes(e.type)) continue;
    let ebrAt = e.start;
    for (let guard = 0; guard < MAX_LOGICAL; guard++) {
      const ebr = await readTarget(ctx, file, ebrAt * SECTOR, SECTOR);
      if (!signed(ebr)) break;
      const [first, next] = entries(ebr);
      if (first && first.type !== 0 && first.size !== 0) add(logical++, { ...first, start: ebrAt + first.start });
      if (!next || next.type === 0 || next.start === 0) break;
      ebrAt = e.start + next.start;
    }
  }
  // sfdisk prints the disk identifier (bytes 440-443) as id, e.g. 0x5452574f
  return { label: 'dos', id: `0x${le.u32(mbr, 440).toString(16).padStart(8, '0')}`, sectorSize: SECTOR, partitions };
}
