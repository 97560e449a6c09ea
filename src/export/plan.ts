/**
 * What the exported image is made of, byte range by byte range (pure): each partition the
 * run snapshotted from its snapshot device (over the snapshot's whole size: a grown root
 * brings its grown filesystem), every other byte from the original image (the table, the
 * gaps, the partitions the run did not snapshot), zeros beyond the original's end and
 * where the table rewrite drops bytes; then the rewritten table's sectors on top.
 */
import { UsageError } from '../errors.js';
import type { PartitionTable } from '../kernel/types.js';
import { isExtendedContainer } from '../kernel/parse/sfdisk.js';
import { rewriteTable, SECTOR, type Patch, type TablePart } from './table.js';

/** A partition the run snapshotted (number null: a whole image without a table) and its snapshot device. */
export interface Snapshotted {
  number: number | null;
  /** the snapshot device, e.g. /dev/mapper/flow-k3m9x2ab */
  device: string;
  /** its size in bytes */
  bytes: number;
}

export type Source = { kind: 'image'; offset: number } | { kind: 'device'; device: string; offset: number } | { kind: 'zero' };

export interface Extent {
  /** byte offset in the new image */
  at: number;
  length: number;
  from: Source;
}

export interface ExportPlan {
  size: number;
  /** in order, covering [0, size) without overlap */
  extents: Extent[];
  /** the rewritten table, written after the extents */
  writes: Patch[];
  /** partitions enlarged: number, old and new size in sectors */
  grown: { number: number; from: number; to: number }[];
}

export interface PlanInput {
  imageSize: number;
  /** the original's partition table (null: none) */
  table: PartitionTable | null;
  /** the original's first bytes (rewriteTable) */
  head: Uint8Array;
  snapshots: readonly Snapshotted[];
}

/** Fills [from, to) of the new image: the original's bytes where it has them (minus `drop`), zeros after. */
function gap(from: number, to: number, imageSize: number, drop: readonly { start: number; end: number }[]): Extent[] {
  const out: Extent[] = [];
  const cuts = [...new Set([from, to, Math.min(Math.max(imageSize, from), to), ...drop.flatMap((d) => [d.start, d.end]).filter((x) => x > from && x < to)])].sort((a, b) => a - b);
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [a, b] = [cuts[i]!, cuts[i + 1]!];
    if (a >= b) continue;
    const dropped = drop.some((d) => d.start <= a && b <= d.end);
    out.push({ at: a, length: b - a, from: a < imageSize && !dropped ? { kind: 'image', offset: a } : { kind: 'zero' } });
  }
  return out;
}

export function planExport(input: PlanInput): ExportPlan {
  const { imageSize, table, snapshots } = input;
  if (!table) {
    const whole = snapshots.find((s) => s.number === null);
    if (!whole || snapshots.length !== 1) throw new UsageError('the image has no partition table, but the run snapshotted a partition of it', 'is the image the one the run was made on? `flow show <id>`');
    return { size: whole.bytes, extents: [{ at: 0, length: whole.bytes, from: { kind: 'device', device: whole.device, offset: 0 } }], writes: [], grown: [] };
  }
  if (table.sectorSize !== SECTOR) throw new UsageError(`the image's partition table uses ${table.sectorSize}-byte sectors: flow export handles 512-byte sectors only`, 'export the partition with `dd` from the snapshot device instead');
  const parts: TablePart[] = table.partitions.map((p) => ({ number: p.number, start: p.start, size: p.size, ...(isExtendedContainer(table, p) ? { container: true } : {}) }));
  for (const s of snapshots) {
    const p = parts.find((x) => x.number === s.number);
    if (!p || p.container) throw new UsageError(`the image's partition table has no partition ${s.number ?? '(whole image)'} any more`, 'is the image the one the run was made on? `flow show <id>`');
    if (s.bytes % SECTOR !== 0) throw new UsageError(`the snapshot ${s.device} is ${s.bytes} bytes, not whole sectors`, 'the run is not what flow made; roll it back and start again');
  }
  const grow = snapshots.map((s) => ({ number: s.number!, sectors: s.bytes / SECTOR }));
  const t = rewriteTable(table.label, input.head, imageSize, parts, grow);
  // each data partition's range in the new image, and where its bytes come from
  const ranges = parts
    .filter((p) => !p.container)
    .map((p) => {
      const s = snapshots.find((x) => x.number === p.number);
      const length = (s ? s.bytes / SECTOR : p.size) * SECTOR;
      const from: Source = s ? { kind: 'device', device: s.device, offset: 0 } : p.start * SECTOR < imageSize ? { kind: 'image', offset: p.start * SECTOR } : { kind: 'zero' };
      return { at: p.start * SECTOR, length: Math.min(length, t.size - p.start * SECTOR), from };
    })
    .filter((r) => r.length > 0)
    .sort((a, b) => a.at - b.at);
  const extents: Extent[] = [];
  let pos = 0;
  for (const r of ranges) {
    if (r.at < pos) throw new UsageError(`partitions overlap at byte ${r.at} of the image`, 'repair the image\'s partition table first (`sfdisk --verify IMAGE`)');
    extents.push(...gap(pos, r.at, imageSize, t.drop), r);
    pos = r.at + r.length;
  }
  extents.push(...gap(pos, t.size, imageSize, t.drop));
  const grown = grow.flatMap((g) => {
    const from = parts.find((p) => p.number === g.number)!.size;
    return g.sectors === from ? [] : [{ number: g.number, from, to: g.sectors }];
  });
  return { size: t.size, extents, writes: t.writes, grown };
}
