import { describe, expect, it } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { isExtendedContainer, parseSfdiskJson, partitionNumber } from '../../../src/kernel/parse/sfdisk.js';
import { captured } from './fixture.js';

const IMG = '/tmp/flowcap.XXXXXX/img.raw';

describe('parseSfdiskJson (captured, util-linux 2.38.1)', () => {
  it('reads a DOS table with an extended container and a logical partition', () => {
    expect(parseSfdiskJson(captured('sfdisk-mbr-extended.json'))).toEqual({
      label: 'dos',
      id: '0x0f10f10f',
      sectorSize: 512,
      partitions: [
        { number: 1, node: `${IMG}1`, start: 2048, size: 16384, type: 'c' },
        { number: 2, node: `${IMG}2`, start: 18432, size: 65536, type: '83' },
        { number: 3, node: `${IMG}3`, start: 83968, size: 47104, type: '5' },
        { number: 5, node: `${IMG}5`, start: 86016, size: 20480, type: '83' },
      ],
    });
  });

  it('numbers partitions of a loop device from the pN suffix', () => {
    const t = parseSfdiskJson(captured('sfdisk-loop-mbr-extended.json'));
    expect(t.partitions.map((p) => [p.node.replace(/\d+p/, 'Np'), p.number])).toEqual([
      ['/dev/loopNp1', 1],
      ['/dev/loopNp2', 2],
      ['/dev/loopNp3', 3],
      ['/dev/loopNp5', 5],
    ]);
  });

  it('keeps GPT type GUIDs as strings', () => {
    const t = parseSfdiskJson(captured('sfdisk-gpt.json'));
    expect(t.label).toBe('gpt');
    expect(t.partitions.map((p) => [p.number, p.start, p.size, p.type])).toEqual([
      [1, 2048, 8192, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B'],
      [2, 10240, 20480, '0FC63DAF-8483-4772-8E79-3D69D8477DE4'],
    ]);
  });

  it('marks only DOS types 5, f and 85 as extended containers', () => {
    const t = parseSfdiskJson(captured('sfdisk-mbr-extended.json'));
    expect(t.partitions.filter((p) => !isExtendedContainer(t, p)).map((p) => p.number)).toEqual([1, 2, 5]);
    expect(isExtendedContainer({ label: 'dos' }, { type: 'F' })).toBe(true);
    expect(isExtendedContainer({ label: 'gpt' }, { type: '5' })).toBe(false);
  });

  it('rejects output that is not a partition table', () => {
    expect(() => parseSfdiskJson('sfdisk: oops')).toThrow(KernelError);
    expect(() => parseSfdiskJson('{}')).toThrow(KernelError);
  });
});

describe('partitionNumber', () => {
  it.each([
    ['img.raw2', undefined, 2],
    ['/dev/loop0p3', undefined, 3],
    ['/dev/loop0p3', '/dev/loop0', 3],
    ['/img/disk2024.raw1', '/img/disk2024.raw', 1],
    ['/img/disk2024p12', '/img/disk2024', 12],
    ['/dev/sda10', '/dev/sda', 10],
    ['/dev/nvme0n1p2', '/dev/nvme0n1', 2],
  ])('%s (disk %s) → %d', (node, device, n) => {
    expect(partitionNumber(node, device)).toBe(n);
  });
});
