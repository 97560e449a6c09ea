/**
 * A minimal FAT32 boot sector: enough for blkid-like probing (TYPE vfat, UUID from the
 * volume id) and for the fake's mount checks (sector size against the device's logical
 * block size). Offsets are those of the on-disk BPB (little-endian).
 */
import { le } from './bytes.js';

/** Bytes a fake vfat filesystem needs at least (mkfs.fat refuses tiny devices too). */
export const MIN_VFAT_BYTES = 64 * 1024;

/** "1234ABCD" → "1234-ABCD", as blkid shows a FAT volume id. */
export function vfatUuid(volumeId: string): string {
  const v = volumeId.toUpperCase();
  return `${v.slice(0, 4)}-${v.slice(4)}`;
}

export const isVolumeId = (s: string) => /^[0-9A-Fa-f]{8}$/.test(s);

/** The 512-byte boot sector mkfs.vfat -i VOLUMEID writes (FAT32 layout). */
export function encodeBootSector(a: { volumeId: string; sectorSize: number; bytes: number; label?: string }): Uint8Array {
  const b = new Uint8Array(512);
  b.set([0xeb, 0x58, 0x90], 0);
  b.set(Buffer.from('mkfs.fat', 'latin1'), 3);
  le.put16(b, 11, a.sectorSize);
  b[13] = 8; // sectors per cluster
  le.put16(b, 14, 32); // reserved sectors
  b[16] = 2; // FATs
  b[21] = 0xf8; // media: fixed disk
  le.put32(b, 32, Math.floor(a.bytes / a.sectorSize));
  b[66] = 0x29; // extended boot signature
  le.put32(b, 67, parseInt(a.volumeId, 16));
  b.set(Buffer.from((a.label ?? 'NO NAME').slice(0, 11).padEnd(11, ' '), 'latin1'), 71);
  b.set(Buffer.from('FAT32   ', 'latin1'), 82);
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

/** The volume id (as blkid's UUID) and sector size of a FAT32 boot sector; null when there is none. */
export function decodeBootSector(b: Uint8Array): { uuid: string; sectorSize: number; label: string } | null {
  if (b.length < 512 || b[510] !== 0x55 || b[511] !== 0xaa || b[66] !== 0x29) return null;
  if (Buffer.from(b.subarray(82, 87)).toString('latin1') !== 'FAT32') return null;
  // blkid shows no LABEL for the placeholder "NO NAME"
  const name = Buffer.from(b.subarray(71, 82)).toString('latin1').trimEnd();
  return { uuid: vfatUuid(le.u32(b, 67).toString(16).padStart(8, '0')), sectorSize: le.u16(b, 11), label: name === 'NO NAME' ? '' : name };
}
