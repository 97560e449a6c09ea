import { describe, expect, it } from 'vitest';
import { fsProbeFromBlkid, parseBlkidExport } from '../../../src/kernel/parse/blkid.js';
import { parseExtSuperblock } from '../../../src/kernel/parse/ext-superblock.js';
import { captured, capturedBytes } from './fixture.js';

describe('fsProbeFromBlkid (captured blkid -p -o export)', () => {
  it.each([
    ['blkid-ext4-4k-offset.txt', { type: 'ext4', uuid: '6f1c2a8e-2b7a-4c39-9d0e-5b8f3a1c7e42', blockSize: 4096, label: 'flowroot' }],
    ['blkid-ext4-4k-loop.txt', { type: 'ext4', uuid: '6f1c2a8e-2b7a-4c39-9d0e-5b8f3a1c7e42', blockSize: 4096, label: 'flowroot' }],
    ['blkid-ext4-1k-offset.txt', { type: 'ext4', uuid: '0b5e1f2d-3c4a-4d5e-8f60-718293a4b5c6', blockSize: 1024 }],
    ['blkid-vfat-offset.txt', { type: 'vfat', uuid: '0F10-CAFE', blockSize: 512, label: 'FLOWBOOT' }],
    ['blkid-image-ptable.txt', null],
  ])('%s', (file, expected) => {
    expect(fsProbeFromBlkid(captured(file))).toEqual(expected);
  });

  it('empty output (exit 2, nothing found) → null', () => {
    expect(fsProbeFromBlkid('')).toBeNull();
  });

  it('works without BLOCK_SIZE (older blkid) and undoes backslash escapes', () => {
    expect(fsProbeFromBlkid('DEVNAME=/dev/loop0\nUUID=abcd\nTYPE=ext4\n')).toEqual({ type: 'ext4', uuid: 'abcd' });
    expect(parseBlkidExport('LABEL=my\\ disk\\=1\nTYPE=vfat')).toEqual({ LABEL: 'my disk=1', TYPE: 'vfat' });
  });
});

describe('parseExtSuperblock (captured superblocks)', () => {
  it.each([
    ['ext4-4k-superblock.bin', { blockSize: 4096, blockCount: 8192, uuid: '6f1c2a8e-2b7a-4c39-9d0e-5b8f3a1c7e42' }],
    ['ext4-1k-superblock.bin', { blockSize: 1024, blockCount: 10240, uuid: '0b5e1f2d-3c4a-4d5e-8f60-718293a4b5c6' }],
  ])('%s', (file, expected) => {
    expect(parseExtSuperblock(capturedBytes(file))).toEqual(expected);
  });

  it('adds s_blocks_count_hi only with the 64bit feature', () => {
    const sb = Buffer.from(capturedBytes('ext4-4k-superblock.bin'));
    sb.writeUInt32LE(2, 0x150);
    expect(parseExtSuperblock(sb)?.blockCount).toBe(2 * 2 ** 32 + 8192);
    sb.writeUInt32LE(sb.readUInt32LE(96) & ~0x80, 96);
    expect(parseExtSuperblock(sb)?.blockCount).toBe(8192);
  });

  it('null for a short buffer or a wrong magic', () => {
    expect(parseExtSuperblock(new Uint8Array(100))).toBeNull();
    expect(parseExtSuperblock(new Uint8Array(1024))).toBeNull();
  });
});
