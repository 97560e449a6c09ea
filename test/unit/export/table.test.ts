/** The exported image's partition table (src/export/table.ts): DOS and GPT, grown, refused. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { crc32 } from '../../../src/export/crc32.js';
import { chs, rewriteTable, type TablePart } from '../../../src/export/table.js';
import { mbr } from './mbr.js';

const S = 512;

const u64 = (b: Uint8Array, at: number) => Number(Buffer.from(b).readBigUInt64LE(at));
const u32 = (b: Uint8Array, at: number) => Buffer.from(b).readUInt32LE(at);

/** A GPT disk of `sectors`: protective MBR, header, 128 entries of 128 bytes, `parts` (start, size in sectors). */
function gptHead(sectors: number, parts: { start: number; size: number }[]): Buffer {
  const head = Buffer.alloc(34 * S);
  head.set(mbr(0, [{ type: 0xee, start: 1, size: sectors - 1 }]));
  const entries = Buffer.alloc(128 * 128);
  parts.forEach((p, i) => {
    entries.fill(0x11 + i, i * 128, i * 128 + 32); // type and unique GUIDs
    entries.writeBigUInt64LE(BigInt(p.start), i * 128 + 32);
    entries.writeBigUInt64LE(BigInt(p.start + p.size - 1), i * 128 + 40);
  });
  head.set(entries, 2 * S);
  const h = Buffer.alloc(S);
  h.write('EFI PART', 0, 'latin1');
  h.writeUInt32LE(0x10000, 8);
  h.writeUInt32LE(92, 12);
  h.writeBigUInt64LE(1n, 24);
  h.writeBigUInt64LE(BigInt(sectors - 1), 32);
  h.writeBigUInt64LE(34n, 40);
  h.writeBigUInt64LE(BigInt(sectors - 34), 48);
  h.fill(0xab, 56, 72); // disk GUID
  h.writeBigUInt64LE(2n, 72);
  h.writeUInt32LE(128, 80);
  h.writeUInt32LE(128, 84);
  h.writeUInt32LE(crc32(entries), 88);
  h.writeUInt32LE(crc32(h.subarray(0, 92)), 16);
  head.set(h, S);
  return head;
}

const headerOk = (h: Uint8Array) => {
  const c = Uint8Array.from(h.subarray(0, 92));
  c.fill(0, 16, 20);
  return crc32(c) === u32(h, 16);
};

describe('DOS', () => {
  const parts: TablePart[] = [
    { number: 1, start: 8192, size: 65536 },
    { number: 2, start: 73728, size: 122880 },
  ];
  const head = mbr(0x5452574f, [
    { type: 0x0c, start: 8192, size: 65536 },
    { type: 0x83, start: 73728, size: 122880 },
  ]);

  it('nothing grows: no patch, the original size', () => {
    expect(rewriteTable('dos', head, 96 << 20, parts, [{ number: 2, sectors: 122880 }])).toEqual({ size: 96 << 20, writes: [], drop: [] });
  });

  it.each([
    [262144, 73728 + 262144],
    [500000, 73728 + 500000],
  ])('the root grown to %i sectors: only its size and CHS end change; the image ends with it', (sectors, end) => {
    const t = rewriteTable('dos', head, 96 << 20, parts, [{ number: 2, sectors }]);
    expect(t.size).toBe(end * S);
    const m = t.writes[0]!.bytes;
    expect(t.writes.map((w) => [w.offset, w.bytes.length])).toEqual([[0, S]]);
    expect(u32(m, 446 + 16 + 12)).toBe(sectors);
    expect([...m.subarray(446 + 16 + 5, 446 + 16 + 8)]).toEqual(chs(end - 1));
    const changed = [...Array(S).keys()].filter((i) => m[i] !== head[i]);
    expect(changed.every((i) => (i >= 446 + 16 + 5 && i < 446 + 16 + 8) || (i >= 446 + 16 + 12 && i < 446 + 32))).toBe(true);
    expect(u32(m, 440)).toBe(0x5452574f);
  });

  it('a larger original keeps its size', () => {
    expect(rewriteTable('dos', head, 1 << 30, parts, [{ number: 2, sectors: 262144 }]).size).toBe(1 << 30);
  });

  it.each([
    ['a partition after the root', [...parts, { number: 3, start: 196608, size: 2048 }], 2, 262144, /partition 2 grows to 262144 sectors .* over partition 3 \(sectors 196608-198655\)/],
    ['a logical root', [{ number: 1, start: 8192, size: 65536 }, { number: 2, start: 73728, size: 200000, container: true }, { number: 5, start: 75776, size: 100000 }], 5, 150000, /partition 5 is a logical partition/],
    ['beyond 2^32 sectors', parts, 2, 0xffffffff, /beyond what a DOS partition table can address/],
    ['a snapshot smaller than its partition', parts, 2, 1000, /smaller than the partition/],
  ] as const)('refused: %s', (_what, ps, n, sectors, re) => {
    expect(() => rewriteTable('dos', head, 96 << 20, ps as TablePart[], [{ number: n, sectors }])).toThrow(re);
    expect(() => rewriteTable('dos', head, 96 << 20, ps as TablePart[], [{ number: n, sectors }])).toThrow(UsageError);
  });

  it('refused: the MBR entry does not say what sfdisk read (the image changed)', () => {
    expect(() => rewriteTable('dos', head, 96 << 20, [parts[0]!, { number: 2, start: 73728, size: 100 }], [{ number: 2, sectors: 262144 }])).toThrow(/MBR entry does not say what sfdisk read/);
  });

  it('refused: another label', () => {
    expect(() => rewriteTable('sun', head, 96 << 20, parts, [{ number: 2, sectors: 262144 }])).toThrow(/"sun": flow export enlarges a partition of a DOS or GPT table only/);
  });
});

describe('CHS', () => {
  it.each([
    [0, [0, 1, 0]],
    [62, [0, 63, 0]],
    [63, [1, 1, 0]],
    [255 * 63, [0, 1, 1]],
    [1023 * 255 * 63, [0, 0xc1, 0xff]],
    [1024 * 255 * 63, [0xfe, 0xff, 0xff]],
  ])('LBA %i', (lba, want) => expect(chs(lba)).toEqual(want));
});

describe('GPT', () => {
  const sectors = 200000;
  const parts: TablePart[] = [
    { number: 1, start: 2048, size: 65536 },
    { number: 2, start: 67584, size: 100000 },
  ];
  const head = gptHead(sectors, parts);

  it('the root grown: its last LBA, the headers at both ends (CRCs valid), the protective MBR, the old backup dropped; GUIDs unchanged', () => {
    const t = rewriteTable('gpt', head, sectors * S, parts, [{ number: 2, sectors: 300000 }]);
    const total = 67584 + 300000 + 32 + 1;
    expect(t.size).toBe(total * S);
    const by = new Map(t.writes.map((w) => [w.offset, w.bytes]));
    expect([...by.keys()]).toEqual([0, S, 2 * S, (total - 33) * S, (total - 1) * S]);
    const primary = by.get(S)!;
    const backup = by.get((total - 1) * S)!;
    const entries = by.get(2 * S)!;
    expect(headerOk(primary)).toBe(true);
    expect(headerOk(backup)).toBe(true);
    expect([u64(primary, 24), u64(primary, 32), u64(primary, 48), u64(primary, 72)]).toEqual([1, total - 1, total - 34, 2]);
    expect([u64(backup, 24), u64(backup, 32), u64(backup, 48), u64(backup, 72)]).toEqual([total - 1, 1, total - 34, total - 33]);
    expect(u32(primary, 88)).toBe(crc32(entries.subarray(0, 128 * 128)));
    expect(by.get((total - 33) * S)).toEqual(entries);
    expect([u64(entries, 128 + 32), u64(entries, 128 + 40)]).toEqual([67584, 67584 + 300000 - 1]);
    // the GUIDs (disk, types, partitions) and partition 1 are the original's
    const same = (a: Uint8Array, b: Uint8Array) => expect(Buffer.from(a).equals(b)).toBe(true);
    same(primary.subarray(56, 72), head.subarray(S + 56, S + 72));
    same(entries.subarray(0, 128), head.subarray(2 * S, 2 * S + 128));
    same(entries.subarray(128, 128 + 32), head.subarray(2 * S + 128, 2 * S + 160));
    expect(u32(by.get(0)!, 446 + 12)).toBe(total - 1);
    expect(t.drop).toEqual([{ start: (sectors - 33) * S, end: sectors * S }]);
  });

  it('refused: a header whose CRC is wrong', () => {
    const bad = Buffer.from(head);
    bad[S + 60] = bad[S + 60]! ^ 1;
    expect(() => rewriteTable('gpt', bad, sectors * S, parts, [{ number: 2, sectors: 300000 }])).toThrow(/GPT header \(sector 1\) fails its CRC/);
  });

  it('the original bytes are never patched in place', () => {
    const before = Buffer.from(head);
    rewriteTable('gpt', head, sectors * S, parts, [{ number: 2, sectors: 300000 }]);
    expect(head.equals(before)).toBe(true);
  });

  it('refused: growing over the next partition', () => {
    expect(() => rewriteTable('gpt', head, sectors * S, parts, [{ number: 1, sectors: 70000 }])).toThrow(/over partition 2/);
  });
});
