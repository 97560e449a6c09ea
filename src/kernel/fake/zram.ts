/**
 * Fake zram: hot_add gives the lowest free id (major 252), uninitialised, with the next
 * diskseq (kept by configure and reset, as on Linux 6.x); configure
 * sets the algorithm then disksize (EBUSY once initialised); reset and hot_remove
 * refuse while the device is held (dm table, mount, opener).
 */
import type { ZramInfo } from '../types.js';
import { BLOCK, sparseBytes } from './bytes.js';
import { kerr, type Ctx } from './context.js';
import { dmUsers, lowestFree, nextDiskseq, openCount } from './devices.js';
import { ZRAM_MAJOR, type KernelState, type ZramState } from './state.js';

/** Compression algorithms the fake accepts. */
export const ZRAM_ALGORITHMS = ['lzo', 'lzo-rle', 'lz4', 'lz4hc', 'zstd', 'deflate', '842'];
const DEFAULT_ALGORITHM = 'lzo-rle';
const PAGE = 4096;

const majmin = (z: ZramState) => `${ZRAM_MAJOR}:${z.id}`;

function info(state: KernelState, z: ZramState): ZramInfo {
  return {
    id: z.id,
    device: `/dev/zram${z.id}`,
    majmin: majmin(z),
    initialized: z.initialized,
    disksize: z.initialized ? z.disksize : 0,
    algorithm: z.algorithm,
    holders: dmUsers(state, majmin(z)).map((d) => `dm-${d.minor}`),
    diskseq: z.diskseq ?? 0,
  };
}

function byId(ctx: Ctx, id: number): ZramState {
  const z = ctx.state.zram.find((x) => x.id === id);
  if (!z) throw kerr('ENXIO', `zram${id} does not exist (No such device)`);
  return z;
}

function busy(ctx: Ctx, z: ZramState, what: string): void {
  if (openCount(ctx.state, majmin(z)) > 0) throw kerr('EBUSY', `cannot ${what} zram${z.id}: device is in use (Device or resource busy)`);
}

/** /sys/block/zram* */
export function zramList(ctx: Ctx): ZramInfo[] {
  return [...ctx.state.zram].sort((a, b) => a.id - b.id).map((z) => info(ctx.state, z));
}

/** cat /sys/class/zram-control/hot_add */
export function zramAdd(ctx: Ctx): number {
  const id = lowestFree(ctx.state.zram.map((z) => z.id));
  ctx.state.zram.push({ id, initialized: false, disksize: 0, algorithm: DEFAULT_ALGORITHM, data: {}, diskseq: nextDiskseq(ctx.state) });
  ctx.touch();
  return id;
}

/** comp_algorithm (when given), then disksize (rounded up to a page, as zram does). */
export function zramConfigure(ctx: Ctx, id: number, settings: { disksize: number; algorithm?: string }): void {
  const z = byId(ctx, id);
  if (z.initialized) throw kerr('EBUSY', `zram${id} is already initialized: reset it first (Device or resource busy)`);
  if (settings.algorithm !== undefined && !ZRAM_ALGORITHMS.includes(settings.algorithm)) throw kerr('EINVAL', `zram: unknown compression algorithm ${settings.algorithm}`);
  if (!Number.isSafeInteger(settings.disksize) || settings.disksize <= 0) throw kerr('EINVAL', `zram: invalid disksize ${settings.disksize}`);
  if (settings.algorithm !== undefined) z.algorithm = settings.algorithm;
  z.disksize = Math.ceil(settings.disksize / PAGE) * PAGE;
  z.initialized = true;
  ctx.touch();
}

/** echo 1 > reset */
export function zramReset(ctx: Ctx, id: number): void {
  const z = byId(ctx, id);
  busy(ctx, z, 'reset');
  if (!z.initialized) return;
  Object.assign(z, { initialized: false, disksize: 0, data: {} });
  ctx.touch();
}

/** echo N > hot_remove */
export function zramRemove(ctx: Ctx, id: number): void {
  const z = byId(ctx, id);
  busy(ctx, z, 'remove');
  ctx.state.zram = ctx.state.zram.filter((x) => x !== z);
  ctx.touch();
}

/** mm_stat, modelled coarsely: stored blocks plus snapshot exceptions kept on this device, compressed 3:1. */
export function zramUsage(ctx: Ctx, id: number): { origDataSize: number; comprDataSize: number; memUsedTotal: number } {
  const z = byId(ctx, id);
  let orig = sparseBytes(z.data);
  for (const d of ctx.state.dm) {
    for (const t of d.live ?? []) {
      if (t.type !== 'snapshot' || t.args[1] !== majmin(z)) continue;
      const chunks = Object.keys(d.cow).filter((k) => k.startsWith(`${t.start}:`)).length;
      orig += chunks * Number(t.args[3]) * 512;
    }
  }
  const compr = Math.ceil(orig / 3);
  return { origDataSize: orig, comprDataSize: compr, memUsedTotal: compr === 0 ? 0 : Math.ceil(compr / BLOCK) * BLOCK };
}

