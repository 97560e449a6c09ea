/**
 * A tiny disk-image builder for tests (fake and real kernel alike): a sparse file with a
 * DOS partition table (MBR, and an EBR chain for logical partitions inside an extended
 * container) and, where asked, a minimal ext4 superblock at the start of a partition.
 * sfdisk reads these images like any other.
 */
import { dirname } from 'node:path';
import type { Fs } from '../../fs/types.js';
import { le } from './bytes.js';
import { encodeFakeFiles, encodeSuperblock, FAKE_FILES_OFFSET, SUPERBLOCK_OFFSET } from './ext.js';
import { encodeBootSector } from './vfat.js';

/** One partition of a test image; sectors are 512 bytes. */
export interface TestPartition {
  /** MBR type in hex: 'c' (FAT32 LBA), '83' (Linux), '5' (extended), ... */
  type: string;
  startSector: number;
  sizeSectors: number;
  /** put an ext4 superblock at the start of the partition (with a label, and files the fake's debugfs reads) */
  ext?: { blockSize: number; uuid: string; label?: string; files?: Record<string, string> };
  /** put a FAT32 boot sector at the start of the partition */
  vfat?: { volumeId: string; label?: string; sectorSize?: number };
}

/** What buildTestImage writes. Partitions inside an extended one become logical (5, 6, ...). */
export interface TestImageSpec {
  /** file size in bytes */
  size: number;
  /** the MBR's disk identifier (PARTUUIDs are its 8 hex digits and -NN); default 0x464c4f57 ("FLOW") */
  diskId?: number;
  partitions: TestPartition[];
}

const SECTOR = 512;
const EXTENDED = [0x05, 0x0f, 0x85];

function putEntry(sector: Uint8Array, slot: number, type: number, start: number, size: number): void {
  const at = 446 + 16 * slot;
  sector.set([0x00, 0xfe, 0xff, 0xff, type, 0xfe, 0xff, 0xff], at);
  le.put32(sector, at + 8, start);
  le.put32(sector, at + 12, size);
}

function bootSector(): Uint8Array {
  const s = new Uint8Array(SECTOR);
  s[510] = 0x55;
  s[511] = 0xaa;
  return s;
}

/** Writes a new image file at `path` (EEXIST when it exists), fsynced. */
export async function buildTestImage(fs: Fs, path: string, spec: TestImageSpec): Promise<void> {
  const typeOf = (p: TestPartition) => parseInt(p.type, 16);
  const ext = spec.partitions.find((p) => EXTENDED.includes(typeOf(p)));
  const inside = (p: TestPartition) => ext !== undefined && p !== ext && p.startSector >= ext.startSector && p.startSector < ext.startSector + ext.sizeSectors;
  const primaries = spec.partitions.filter((p) => !inside(p));
  const logicals = spec.partitions.filter(inside).sort((a, b) => a.startSector - b.startSector);
  if (primaries.length > 4) throw new Error('an MBR holds at most 4 primary/extended partitions');
  for (const p of spec.partitions) {
    if ((p.startSector + p.sizeSectors) * SECTOR > spec.size || p.startSector < 1) throw new Error(`partition at ${p.startSector} does not fit the image`);
  }
  const writes: [number, Uint8Array][] = [];
  const mbr = bootSector();
  le.put32(mbr, 440, spec.diskId ?? 0x464c4f57); // disk identifier, default "FLOW"
  primaries.forEach((p, i) => putEntry(mbr, i, typeOf(p), p.startSector, p.sizeSectors));
  writes.push([0, mbr]);
  const ebrAt = logicals.map((p, i) => (i === 0 ? ext!.startSector : p.startSector - 1));
  logicals.forEach((p, i) => {
    const at = ebrAt[i]!;
    const prevEnd = i === 0 ? ext!.startSector : logicals[i - 1]!.startSector + logicals[i - 1]!.sizeSectors;
    if (p.startSector <= at || at < prevEnd) throw new Error(`no room for the EBR of the logical partition at ${p.startSector}`);
    const ebr = bootSector();
    putEntry(ebr, 0, typeOf(p), p.startSector - at, p.sizeSectors);
    const next = logicals[i + 1];
    if (next) putEntry(ebr, 1, 0x05, ebrAt[i + 1]! - ext!.startSector, next.startSector + next.sizeSectors - ebrAt[i + 1]!);
    writes.push([at * SECTOR, ebr]);
  });
  for (const p of spec.partitions) {
    if (p.vfat) writes.push([p.startSector * SECTOR, encodeBootSector({ volumeId: p.vfat.volumeId, sectorSize: p.vfat.sectorSize ?? 512, bytes: p.sizeSectors * SECTOR, ...(p.vfat.label ? { label: p.vfat.label } : {}) })]);
    if (!p.ext) continue;
    const blockCount = Math.floor((p.sizeSectors * SECTOR) / p.ext.blockSize);
    writes.push([p.startSector * SECTOR + SUPERBLOCK_OFFSET, encodeSuperblock({ uuid: p.ext.uuid, blockSize: p.ext.blockSize, blockCount, ...(p.ext.label ? { label: p.ext.label } : {}) })]);
    if (p.ext.files) writes.push([p.startSector * SECTOR + FAKE_FILES_OFFSET, encodeFakeFiles(p.ext.files)]);
  }
  const h = await fs.open(path, { mode: 'create-exclusive', perm: 0o600, noFollow: true });
  try {
    await h.truncate(spec.size);
    for (const [at, bytes] of writes) await h.write(bytes, at);
    await h.sync();
  } finally {
    await h.close();
  }
  await fs.syncDir(dirname(path));
}
