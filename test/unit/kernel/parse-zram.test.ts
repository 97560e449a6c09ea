import { describe, expect, it } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { parseMemTotal } from '../../../src/kernel/parse/meminfo.js';
import { parseCompAlgorithm, parseMmStat } from '../../../src/kernel/parse/zram.js';
import { captured } from './fixture.js';

describe('parseCompAlgorithm', () => {
  it.each([
    ['zram-fresh-comp_algorithm.txt', 'lzo-rle', ['lzo-rle', 'lzo', 'lz4']],
    ['zram-configured-comp_algorithm.txt', 'lz4', ['lzo-rle', 'lzo', 'lz4']],
  ])('captured %s → %s', (file, selected, available) => {
    expect(parseCompAlgorithm(captured(file))).toEqual({ selected, available });
  });

  it('reads the example from the kernel docs', () => {
    expect(parseCompAlgorithm('lzo [lzo-rle] lz4 zstd\n')).toEqual({ selected: 'lzo-rle', available: ['lzo', 'lzo-rle', 'lz4', 'zstd'] });
  });

  it('rejects text with no selection', () => {
    expect(() => parseCompAlgorithm('lzo lz4')).toThrow(KernelError);
  });
});

describe('parseMmStat', () => {
  it.each([
    ['zram-fresh-mm_stat.txt', { origDataSize: 0, comprDataSize: 0, memUsedTotal: 0, memLimit: 0, memUsedMax: 0, samePages: 0, pagesCompacted: 0, hugePages: 0 }],
    ['zram-configured-mm_stat.txt', { origDataSize: 4194304, comprDataSize: 2097152, memUsedTotal: 2097152, memLimit: 0, memUsedMax: 2097152, samePages: 512, pagesCompacted: 0, hugePages: 512 }],
  ])('captured %s', (file, expected) => {
    expect(parseMmStat(captured(file))).toEqual(expected);
  });

  it('accepts the 7-column format of older kernels and rejects fewer', () => {
    expect(parseMmStat('1 2 3 4 5 6 7').hugePages).toBeUndefined();
    expect(() => parseMmStat('1 2 3')).toThrow(KernelError);
  });
});

describe('parseMemTotal', () => {
  it('captured /proc/meminfo → bytes', () => {
    const kb = Number(/MemTotal:\s+(\d+)/.exec(captured('meminfo.txt'))![1]);
    expect(parseMemTotal(captured('meminfo.txt'))).toBe(kb * 1024);
  });
  it('rejects text without MemTotal', () => {
    expect(() => parseMemTotal('MemFree: 1 kB')).toThrow(KernelError);
  });
});
