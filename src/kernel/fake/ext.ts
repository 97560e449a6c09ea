/**
 * A minimal ext2/3/4 superblock: enough for blkid-like probing (magic, UUID, block size,
 * block count, features) in the fake kernel and in test images. Field offsets are those
 * of the on-disk `struct ext4_super_block` (all little-endian), at byte 1024 of the fs.
 */
import { le } from './bytes.js';

/** Byte offset of the superblock from the start of the filesystem, and its size. */
export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;

const MAGIC = 0xef53;
const F = {
  inodesCount: 0,
  blocksCountLo: 4,
  freeBlocksLo: 12,
  freeInodes: 16,
  firstDataBlock: 20,
  logBlockSize: 24,
  logClusterSize: 28,
  blocksPerGroup: 32,
  clustersPerGroup: 36,
  inodesPerGroup: 40,
  magic: 56,
  state: 58,
  errors: 60,
  revLevel: 76,
  firstIno: 84,
  inodeSize: 88,
  featureCompat: 92,
  featureIncompat: 96,
  featureRoCompat: 100,
  uuid: 104,
  volumeName: 120,
  blocksCountHi: 0x150,
} as const;

const COMPAT_HAS_JOURNAL = 0x4;
const INCOMPAT_FILETYPE = 0x2;
const INCOMPAT_EXTENTS = 0x40;
const INCOMPAT_64BIT = 0x80;
const RO_COMPAT_SPARSE_SUPER = 0x1;
const RO_COMPAT_LARGE_FILE = 0x2;

/** What a probe learns from a superblock. */
export interface ExtSuper {
  type: 'ext2' | 'ext3' | 'ext4';
  uuid: string;
  blockSize: number;
  blockCount: number;
  /** the volume name (blkid LABEL); '' when none */
  label: string;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a textual UUID such as mkfs.ext4 -U accepts. */
export function isUuid(s: string): boolean {
  return UUID_RE.test(s);
}

/** Valid ext block sizes. */
export function isExtBlockSize(n: number): boolean {
  return [1024, 2048, 4096, 8192, 16384, 32768, 65536].includes(n);
}

/** A fresh ext4 superblock (1024 bytes) for a filesystem of `blockCount` blocks. */
export function encodeSuperblock(sb: { uuid: string; blockSize: number; blockCount: number; label?: string }): Uint8Array {
  if (!isUuid(sb.uuid)) throw new Error(`bad UUID ${sb.uuid}`);
  if (!isExtBlockSize(sb.blockSize)) throw new Error(`bad block size ${sb.blockSize}`);
  const b = new Uint8Array(SUPERBLOCK_SIZE);
  const perGroup = sb.blockSize * 8;
  const groups = Math.max(1, Math.ceil(sb.blockCount / perGroup));
  const inodesPerGroup = 256;
  le.put32(b, F.inodesCount, groups * inodesPerGroup);
  le.put32(b, F.freeInodes, groups * inodesPerGroup - 11);
  le.put32(b, F.freeBlocksLo, Math.max(0, sb.blockCount - groups * 64));
  le.put32(b, F.firstDataBlock, sb.blockSize === 1024 ? 1 : 0);
  le.put32(b, F.logBlockSize, Math.log2(sb.blockSize) - 10);
  le.put32(b, F.logClusterSize, Math.log2(sb.blockSize) - 10);
  le.put32(b, F.blocksPerGroup, perGroup);
  le.put32(b, F.clustersPerGroup, perGroup);
  le.put32(b, F.inodesPerGroup, inodesPerGroup);
  le.put16(b, F.magic, MAGIC);
  le.put16(b, F.state, 1);
  le.put16(b, F.errors, 1);
  le.put32(b, F.revLevel, 1);
  le.put32(b, F.firstIno, 11);
  le.put16(b, F.inodeSize, 256);
  le.put32(b, F.featureCompat, COMPAT_HAS_JOURNAL);
  le.put32(b, F.featureIncompat, INCOMPAT_FILETYPE | INCOMPAT_EXTENTS);
  le.put32(b, F.featureRoCompat, RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE);
  b.set(Buffer.from(sb.uuid.replace(/-/g, ''), 'hex'), F.uuid);
  if (sb.label) b.set(Buffer.from(sb.label, 'latin1').subarray(0, 16), F.volumeName);
  return setBlockCount(b, sb.blockCount);
}

/** A copy of `sb` with another block count (what resize2fs changes here). */
export function setBlockCount(sb: Uint8Array, blockCount: number): Uint8Array {
  const b = Uint8Array.from(sb);
  le.put32(b, F.blocksCountLo, blockCount % 2 ** 32);
  const hi = Math.floor(blockCount / 2 ** 32);
  if (hi > 0) {
    le.put32(b, F.blocksCountHi, hi);
    le.put32(b, F.featureIncompat, le.u32(b, F.featureIncompat) | INCOMPAT_64BIT);
  }
  return b;
}

/** Parses the 1024 bytes at SUPERBLOCK_OFFSET; null when there is no ext magic. */
export function decodeSuperblock(b: Uint8Array): ExtSuper | null {
  if (b.length < SUPERBLOCK_SIZE || le.u16(b, F.magic) !== MAGIC) return null;
  const log = le.u32(b, F.logBlockSize);
  if (log > 6) return null;
  const incompat = le.u32(b, F.featureIncompat);
  const hi = incompat & INCOMPAT_64BIT ? le.u32(b, F.blocksCountHi) : 0;
  const hex = Buffer.from(b.subarray(F.uuid, F.uuid + 16)).toString('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const type = incompat & INCOMPAT_EXTENTS ? 'ext4' : le.u32(b, F.featureCompat) & COMPAT_HAS_JOURNAL ? 'ext3' : 'ext2';
  const label = Buffer.from(b.subarray(F.volumeName, F.volumeName + 16)).toString('latin1').replace(/\0.*$/s, '');
  return { type, uuid, blockSize: 1024 << log, blockCount: le.u32(b, F.blocksCountLo) + hi * 2 ** 32, label };
}

/**
 * The fake ext filesystem's files (only what flow reads from inside an image: /etc/fstab,
 * and directories a mount inside it needs: "/boot/firmware/"), as a table at byte 2048 of
 * the filesystem: "FLOWFILE", a u32 length, then JSON {path: text} (a directory: its path
 * with a trailing "/"). (In a real ext4 with 4 KiB blocks these bytes are unused padding of block 0.)
 */
export const FAKE_FILES_OFFSET = 2048;
export const FAKE_FILES_SIZE = 2048;
const FILES_MAGIC = 'FLOWFILE';

export function encodeFakeFiles(files: Readonly<Record<string, string>>): Uint8Array {
  const json = Buffer.from(JSON.stringify(files), 'utf8');
  if (json.length + 12 > FAKE_FILES_SIZE) throw new Error('the fake file table holds at most 2036 bytes of JSON');
  const b = new Uint8Array(12 + json.length);
  b.set(Buffer.from(FILES_MAGIC, 'latin1'), 0);
  le.put32(b, 8, json.length);
  b.set(json, 12);
  return b;
}

export function decodeFakeFiles(b: Uint8Array): Record<string, string> {
  if (b.length < 12 || Buffer.from(b.subarray(0, 8)).toString('latin1') !== FILES_MAGIC) return {};
  const n = le.u32(b, 8);
  if (n > b.length - 12) return {};
  try {
    const v = JSON.parse(Buffer.from(b.subarray(12, 12 + n)).toString('utf8')) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}
