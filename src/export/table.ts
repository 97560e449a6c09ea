/**
 * The partition table of an exported image: the original's, with the partitions a run
 * grew (the root snapshot is larger than its partition) enlarged to their snapshot's size.
 * Nothing else changes: the disk identifier, the partitions' UUIDs, types, flags and names
 * stay as they were (cmdline.txt and fstab name them). Pure: bytes in, patches out.
 *
 * DOS (MBR): the entry's sector count (and its CHS end) in sector 0; a primary partition
 * only (a logical one would need its EBR and the extended container moved too).
 * GPT: the entry's last LBA, the protective MBR's size, and the backup header and entry
 * array moved to the new end of the disk, with every CRC recomputed.
 */
import { UsageError } from '../errors.js';
import { crc32 } from './crc32.js';

export const SECTOR = 512;

export interface TablePart {
  number: number;
  /** in sectors */
  start: number;
  size: number;
  /** a DOS extended container (it holds logical partitions, never data of its own) */
  container?: boolean;
}

export interface Grow {
  number: number;
  /** the partition's new size in sectors (its snapshot's) */
  sectors: number;
}

export interface Patch {
  /** byte offset in the new image */
  offset: number;
  bytes: Uint8Array;
}

export interface TableRewrite {
  /** the new image's size in bytes */
  size: number;
  /** written over the copied bytes, last */
  writes: Patch[];
  /** byte ranges of the original not to copy (a GPT backup that moved): zeros in the new image */
  drop: { start: number; end: number }[];
}

/** A copy of bytes [from, to): never a view (Buffer.slice would be one, and the original's bytes are patched). */
const copy = (b: Uint8Array, from = 0, to = b.length): Uint8Array => Uint8Array.from(b.subarray(from, to));
const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true);
const setU32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v, true);
const u64 = (b: Uint8Array, at: number) => Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true));
const setU64 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).setBigUint64(at, BigInt(v), true);

/** Refuses a growth that would run into another partition, naming it. */
function checkRoom(parts: readonly TablePart[], g: Grow, p: TablePart): void {
  const end = p.start + g.sectors;
  for (const q of parts) {
    if (q.number === p.number || q.start + q.size <= p.start || q.start >= end) continue;
    if (q.container && q.start <= p.start && q.start + q.size >= p.start + p.size) continue; // the container around a logical partition
    throw new UsageError(
      `partition ${p.number} grows to ${g.sectors} sectors (its snapshot's size), ending at sector ${end}, over partition ${q.number} (sectors ${q.start}-${q.start + q.size - 1})`,
      'the exported image would overlap it: export a run made with a --size that fits before that partition (or with none: the partition keeps its size)',
    );
  }
}

/** CHS of an LBA for an MBR entry (255 heads, 63 sectors); beyond cylinder 1023 the conventional FE FF FF. */
export function chs(lba: number): [number, number, number] {
  const c = Math.floor(lba / (255 * 63));
  if (c > 1023) return [0xfe, 0xff, 0xff];
  const h = Math.floor(lba / 63) % 255;
  const s = (lba % 63) + 1;
  return [h, (s & 0x3f) | ((c >> 2) & 0xc0), c & 0xff];
}

function dos(head: Uint8Array, imageSize: number, parts: readonly TablePart[], grow: readonly Grow[]): TableRewrite {
  const mbr = copy(head, 0, SECTOR);
  let sectors = Math.ceil(imageSize / SECTOR);
  for (const g of grow) {
    const p = parts.find((x) => x.number === g.number)!;
    if (g.number > 4) throw new UsageError(`partition ${g.number} is a logical partition: flow export enlarges a primary partition only`, 'export a run made without a --size larger than the partition (it then keeps its size)');
    const at = 446 + 16 * (g.number - 1);
    if (u32(mbr, at + 8) !== p.start || u32(mbr, at + 12) !== p.size) throw new UsageError(`partition ${g.number}'s MBR entry does not say what sfdisk read (start ${p.start}, ${p.size} sectors)`, 'is the image being written to? export again when nothing changes it');
    checkRoom(parts, g, p);
    const end = p.start + g.sectors;
    if (end > 0xffffffff) throw new UsageError(`partition ${g.number} would end at sector ${end}: beyond what a DOS partition table can address (2^32 sectors)`, 'export a run made with a smaller --size');
    setU32(mbr, at + 12, g.sectors);
    mbr.set(chs(end - 1), at + 5);
    sectors = Math.max(sectors, end);
  }
  return { size: sectors * SECTOR, writes: [{ offset: 0, bytes: mbr }], drop: [] };
}

interface GptHeader {
  bytes: Uint8Array;
  size: number;
  entriesLba: number;
  count: number;
  entrySize: number;
}

function gptHeader(head: Uint8Array): GptHeader {
  const h = copy(head, SECTOR, 2 * SECTOR);
  if (new TextDecoder().decode(h.subarray(0, 8)) !== 'EFI PART') throw new UsageError('the GPT header (sector 1) has no "EFI PART" signature', 'is the image a GPT disk? `sfdisk -d IMAGE` shows what it holds');
  const size = u32(h, 12);
  const check = copy(h, 0, size);
  setU32(check, 16, 0);
  if (size < 92 || size > SECTOR || crc32(check) !== u32(h, 16)) throw new UsageError('the GPT header (sector 1) fails its CRC', 'repair the image first (e.g. `sgdisk -v IMAGE`)');
  return { bytes: h, size, entriesLba: u64(h, 72), count: u32(h, 80), entrySize: u32(h, 84) };
}

function withCrc(h: Uint8Array, size: number): Uint8Array {
  setU32(h, 16, 0);
  setU32(h, 16, crc32(h.subarray(0, size)));
  return h;
}

function gpt(head: Uint8Array, imageSize: number, parts: readonly TablePart[], grow: readonly Grow[]): TableRewrite {
  const hd = gptHeader(head);
  const arrayBytes = hd.count * hd.entrySize;
  const arraySectors = Math.ceil(arrayBytes / SECTOR);
  const from = hd.entriesLba * SECTOR;
  if (hd.entrySize < 128 || from + arrayBytes > head.length) throw new UsageError(`the GPT entry array (at sector ${hd.entriesLba}, ${hd.count} entries of ${hd.entrySize} bytes) is not where flow reads it`, 'export needs the entries near the start of the disk, as every partitioning tool writes them');
  const entries = copy(head, from, from + arraySectors * SECTOR);
  if (crc32(entries.subarray(0, arrayBytes)) !== u32(hd.bytes, 88)) throw new UsageError('the GPT entry array fails its CRC', 'repair the image first (e.g. `sgdisk -v IMAGE`)');
  const oldSectors = Math.floor(imageSize / SECTOR);
  let needed = 0;
  for (const g of grow) {
    const p = parts.find((x) => x.number === g.number)!;
    const at = (g.number - 1) * hd.entrySize;
    if (g.number > hd.count || u64(entries, at + 32) !== p.start || u64(entries, at + 40) !== p.start + p.size - 1) throw new UsageError(`partition ${g.number}'s GPT entry does not say what sfdisk read (start ${p.start}, ${p.size} sectors)`, 'is the image being written to? export again when nothing changes it');
    checkRoom(parts, g, p);
    setU64(entries, at + 40, p.start + g.sectors - 1);
    needed = Math.max(needed, p.start + g.sectors);
  }
  // the backup array and header follow the last usable sector, at the very end of the disk
  const total = Math.max(oldSectors, needed + arraySectors + 1);
  const backupArray = total - 1 - arraySectors;
  const crc = crc32(entries.subarray(0, arrayBytes));
  const primary = copy(hd.bytes);
  setU64(primary, 32, total - 1);
  setU64(primary, 48, backupArray - 1);
  setU32(primary, 88, crc);
  const backup = copy(primary);
  setU64(backup, 24, total - 1);
  setU64(backup, 32, 1);
  setU64(backup, 72, backupArray);
  const pmbr = copy(head, 0, SECTOR);
  const pe = [0, 1, 2, 3].map((i) => 446 + 16 * i).find((at) => pmbr[at + 4] === 0xee);
  if (pe !== undefined) setU32(pmbr, pe + 12, Math.min(total - 1, 0xffffffff));
  // the old backup, when it moved, is not copied: a stale header inside the disk confuses tools
  const oldBackup = (oldSectors - 1 - arraySectors) * SECTOR;
  const drop = total === oldSectors ? [] : [{ start: Math.max(oldBackup, 0), end: oldSectors * SECTOR }];
  return {
    size: total * SECTOR,
    writes: [
      { offset: 0, bytes: pmbr },
      { offset: SECTOR, bytes: withCrc(primary, hd.size) },
      { offset: from, bytes: entries },
      { offset: backupArray * SECTOR, bytes: entries },
      { offset: (total - 1) * SECTOR, bytes: withCrc(backup, hd.size) },
    ],
    drop,
  };
}

/**
 * The table of the new image: unchanged (no patch, the size of the original) when no
 * partition grows; else `label`'s table with those partitions enlarged. `head`: the
 * original's first bytes (at least the MBR, the GPT header and its entries).
 */
export function rewriteTable(label: string, head: Uint8Array, imageSize: number, parts: readonly TablePart[], grow: readonly Grow[]): TableRewrite {
  const growing = grow.filter((g) => g.sectors !== parts.find((p) => p.number === g.number)?.size);
  for (const g of growing) {
    const p = parts.find((x) => x.number === g.number);
    if (!p) throw new UsageError(`partition ${g.number} is not in the image's partition table`, 'is the image the one the run was made on? `flow show <id>`');
    if (g.sectors < p.size) throw new UsageError(`partition ${g.number}'s snapshot (${g.sectors} sectors) is smaller than the partition (${p.size})`, 'the run is not what flow made; roll it back and start again');
  }
  if (growing.length === 0) return { size: imageSize, writes: [], drop: [] };
  if (label === 'dos') return dos(head, imageSize, parts, growing);
  if (label === 'gpt') return gpt(head, imageSize, parts, growing);
  throw new UsageError(`the image's partition table is "${label}": flow export enlarges a partition of a DOS or GPT table only`, 'export a run made without a --size larger than the partition (it then keeps its size)');
}
