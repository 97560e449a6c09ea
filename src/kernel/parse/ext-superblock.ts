/**
 * Reads the fields flow needs from an ext2/3/4 superblock (the 1024 bytes at byte
 * 1024 of the filesystem), for when blkid prints no BLOCK_SIZE. Pure.
 */

/** What the superblock says. */
export interface ExtSuperblock {
  /** bytes: 1024 << s_log_block_size */
  blockSize: number;
  /** s_blocks_count_lo, plus s_blocks_count_hi << 32 with the 64bit feature */
  blockCount: number;
  /** s_uuid as the usual 8-4-4-4-12 lowercase text */
  uuid: string;
}

const EXT_MAGIC = 0xef53;
const INCOMPAT_64BIT = 0x80;

/** null when the buffer is shorter than 1024 bytes or s_magic (offset 56) is not 0xEF53. */
export function parseExtSuperblock(sb: Uint8Array): ExtSuperblock | null {
  if (sb.length < 1024) return null;
  const v = new DataView(sb.buffer, sb.byteOffset, sb.byteLength);
  if (v.getUint16(56, true) !== EXT_MAGIC) return null;
  const log = v.getUint32(24, true);
  if (log > 6) return null; // block sizes above 64 KiB do not exist
  const lo = v.getUint32(4, true);
  const incompat = v.getUint32(96, true);
  const hi = incompat & INCOMPAT_64BIT ? v.getUint32(0x150, true) : 0;
  const hex = Buffer.from(sb.subarray(104, 120)).toString('hex');
  return {
    blockSize: 1024 << log,
    blockCount: hi * 2 ** 32 + lo,
    uuid: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
  };
}
