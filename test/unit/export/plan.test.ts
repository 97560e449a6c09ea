/** What the exported image is made of (src/export/plan.ts) and which blocks are written (sparse.ts). */
import { describe, expect, it } from 'vitest';
import { planExport, type Extent } from '../../../src/export/plan.js';
import { dataRuns } from '../../../src/export/sparse.js';
import { mbr } from './mbr.js';
import type { PartitionTable } from '../../../src/kernel/types.js';

const S = 512;
const MiB = 1 << 20;

const dos = (parts: { number: number; type: string; start: number; size: number }[]): PartitionTable => ({ label: 'dos', id: '0x5452574f', sectorSize: S, partitions: parts.map((p) => ({ ...p, node: `img${p.number}` })) });
const show = (es: Extent[]) => es.map((e) => [e.at, e.length, e.from.kind === 'device' ? `${e.from.device}@${e.from.offset}` : e.from.kind === 'image' ? `image@${e.from.offset}` : 'zero']);

describe('planExport', () => {
  const raw = [
    { type: 0x0c, start: 8192, size: 65536 },
    { type: 0x83, start: 73728, size: 122880 },
  ];
  const table = dos(raw.map((p, i) => ({ number: i + 1, type: p.type.toString(16), start: p.start, size: p.size })));
  const head = mbr(0, raw);

  it.each([
    [
      'pi-image: both snapshotted, the root grown past the original end',
      [
        { number: 1, device: '/dev/mapper/b', bytes: 65536 * S },
        { number: 2, device: '/dev/mapper/r', bytes: 262144 * S },
      ],
      (73728 + 262144) * S,
      [
        [0, 8192 * S, 'image@0'],
        [8192 * S, 65536 * S, '/dev/mapper/b@0'],
        [73728 * S, 262144 * S, '/dev/mapper/r@0'],
      ],
    ],
    [
      'snapshot-image of the root, not grown: the boot partition from the image',
      [{ number: 2, device: '/dev/mapper/r', bytes: 122880 * S }],
      96 * MiB,
      [
        [0, 8192 * S, 'image@0'],
        [8192 * S, 65536 * S, `image@${8192 * S}`],
        [73728 * S, 122880 * S, '/dev/mapper/r@0'],
      ],
    ],
  ] as const)('%s', (_what, snapshots, size, extents) => {
    const p = planExport({ imageSize: 96 * MiB, table, head, snapshots: [...snapshots] });
    expect(p.size).toBe(size);
    expect(show(p.extents)).toEqual(extents);
  });

  it('a gap after the last partition is the original\'s, then zeros past its end', () => {
    const t = dos([{ number: 1, type: '83', start: 2048, size: 2048 }]);
    const p = planExport({ imageSize: 4 * MiB, table: t, head: mbr(0, [{ type: 0x83, start: 2048, size: 2048 }]), snapshots: [{ number: 1, device: '/dev/d', bytes: 2048 * S }] });
    expect(show(p.extents)).toEqual([
      [0, MiB, 'image@0'],
      [MiB, MiB, '/dev/d@0'],
      [2 * MiB, 2 * MiB, `image@${2 * MiB}`],
    ]);
  });

  it('a whole image without a table: the snapshot device is the image', () => {
    const p = planExport({ imageSize: 32 * MiB, table: null, head: new Uint8Array(S), snapshots: [{ number: null, device: '/dev/d', bytes: 64 * MiB }] });
    expect([p.size, show(p.extents), p.writes]).toEqual([64 * MiB, [[0, 64 * MiB, '/dev/d@0']], []]);
  });

  it.each([
    ['a partition the table no longer has', [{ number: 3, device: '/dev/d', bytes: MiB }], /no partition 3 any more/],
    ['a snapshot of a whole image of an image with a table', [{ number: null, device: '/dev/d', bytes: MiB }], /no partition \(whole image\)/],
  ])('refused: %s', (_w, snapshots, re) => {
    expect(() => planExport({ imageSize: 96 * MiB, table, head, snapshots })).toThrow(re);
  });

  it('refused: 4096-byte sectors', () => {
    expect(() => planExport({ imageSize: 96 * MiB, table: { ...table, sectorSize: 4096 }, head, snapshots: [] })).toThrow(/4096-byte sectors/);
  });

  it('extents cover the image in order without overlap', () => {
    const p = planExport({ imageSize: 96 * MiB, table, head, snapshots: [{ number: 2, device: '/dev/r', bytes: 262144 * S }] });
    let pos = 0;
    for (const e of p.extents) {
      expect(e.at).toBe(pos);
      pos += e.length;
    }
    expect(pos).toBe(p.size);
    expect(p.grown).toEqual([{ number: 2, from: 122880, to: 262144 }]);
  });
});

describe('dataRuns', () => {
  const buf = (set: number[], len = 16384) => {
    const b = new Uint8Array(len);
    for (const i of set) b[i] = 1;
    return b;
  };
  it.each([
    ['all zeros', buf([]), []],
    ['one byte in the second block', buf([5000]), [[4096, 8192]]],
    ['adjacent blocks merged', buf([4095, 4096]), [[0, 8192]]],
    ['apart', buf([0, 12288]), [[0, 4096], [12288, 16384]]],
    ['a short last block', buf([10000], 10001), [[8192, 10001]]],
    ['unaligned view', buf([7]).subarray(3), [[0, 4096]]],
  ])('%s', (_w, b, runs) => expect(dataRuns(b, 4096)).toEqual(runs));
});
