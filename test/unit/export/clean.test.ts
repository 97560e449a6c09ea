/** The FAT dirty bit of a copy of a mounted FAT (src/export/clean.ts). */
import { describe, expect, it } from 'vitest';
import { fatCleaned, fatDirtyAt } from '../../../src/export/clean.js';

/** A boot sector: FAT32 (16-bit sectors per FAT 0, 32-bit one set) or FAT16, with a state byte. */
function boot(kind: 'fat32' | 'fat16', state: number, signed = true): Buffer {
  const b = Buffer.alloc(512);
  b.writeUInt16LE(512, 11);
  if (kind === 'fat32') b.writeUInt32LE(1000, 36);
  else b.writeUInt16LE(200, 22);
  b[kind === 'fat32' ? 0x41 : 0x25] = state;
  if (signed) b.writeUInt16LE(0xaa55, 510);
  return b;
}

describe('fatDirtyAt', () => {
  it.each([
    ['FAT32, dirty', boot('fat32', 1), 0x41],
    ['FAT32, dirty and another flag', boot('fat32', 3), 0x41],
    ['FAT32, clean', boot('fat32', 2), null],
    ['FAT16, dirty', boot('fat16', 1), 0x25],
    ['FAT16, clean', boot('fat16', 0), null],
    ['no boot signature', boot('fat32', 1, false), null],
    ['too short', boot('fat32', 1).subarray(0, 100), null],
  ])('%s', (_w, b, want) => expect(fatDirtyAt(b)).toBe(want));
});

describe('fatCleaned', () => {
  it('clears bit 0 of the state byte only, in a copy', () => {
    const b = boot('fat32', 3);
    const c = fatCleaned(b, 0x41);
    expect(c[0x41]).toBe(2);
    expect([...Array(512).keys()].filter((i) => c[i] !== b[i])).toEqual([0x41]);
    expect(b[0x41]).toBe(3);
  });
});
