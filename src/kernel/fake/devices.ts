/**
 * Device lookup and derived properties of the fake kernel: sizes, logical block sizes,
 * who holds what (dm tables, mounts, test-hook opens), and lazy loop detach.
 */
import { DM_MAJOR, LOOP_MAJOR, ZRAM_MAJOR, type DmState, type DmTarget, type KernelState, type LoopState, type ZramState } from './state.js';

/** A resolved block device. */
export type Dev =
  | { kind: 'loop'; majmin: string; node: string; loop: LoopState }
  | { kind: 'zram'; majmin: string; node: string; zram: ZramState }
  | { kind: 'dm'; majmin: string; node: string; dm: DmState };

const loopDev = (loop: LoopState): Dev => ({ kind: 'loop', majmin: `${LOOP_MAJOR}:${loop.n}`, node: `/dev/loop${loop.n}`, loop });
const zramDev = (zram: ZramState): Dev => ({ kind: 'zram', majmin: `${ZRAM_MAJOR}:${zram.id}`, node: `/dev/zram${zram.id}`, zram });
const dmDev = (dm: DmState): Dev => ({ kind: 'dm', majmin: `${DM_MAJOR}:${dm.minor}`, node: `/dev/dm-${dm.minor}`, dm });

/** Finds a device by /dev/loopN, /dev/zramN, /dev/dm-N, /dev/mapper/NAME or "major:minor"; null when absent. */
export function findDevice(state: KernelState, ref: string): Dev | null {
  let m = /^(\d+):(\d+)$/.exec(ref);
  if (m) {
    const [major, minor] = [Number(m[1]), Number(m[2])];
    if (major === LOOP_MAJOR) return wrap(state.loops.find((l) => l.n === minor), loopDev);
    if (major === ZRAM_MAJOR) return wrap(state.zram.find((z) => z.id === minor), zramDev);
    if (major === DM_MAJOR) return wrap(state.dm.find((d) => d.minor === minor), dmDev);
    return null;
  }
  if ((m = /^\/dev\/loop(\d+)$/.exec(ref))) return wrap(state.loops.find((l) => l.n === Number(m![1])), loopDev);
  if ((m = /^\/dev\/zram(\d+)$/.exec(ref))) return wrap(state.zram.find((z) => z.id === Number(m![1])), zramDev);
  if ((m = /^\/dev\/dm-(\d+)$/.exec(ref))) return wrap(state.dm.find((d) => d.minor === Number(m![1])), dmDev);
  if ((m = /^\/dev\/mapper\/(.+)$/.exec(ref))) return wrap(state.dm.find((d) => d.name === m![1]), dmDev);
  return null;
}

function wrap<T>(found: T | undefined, make: (t: T) => Dev): Dev | null {
  return found === undefined ? null : make(found);
}

/** The kernel's name for a device, as in /sys/block (loop0, zram1, dm-2). */
export function kernelName(dev: Dev): string {
  return dev.node.slice('/dev/'.length);
}

/** Device size in bytes (a dm device without a live table has size 0). */
export function deviceSize(dev: Dev): number {
  if (dev.kind === 'loop') return dev.loop.size;
  if (dev.kind === 'zram') return dev.zram.initialized ? dev.zram.disksize : 0;
  return (dev.dm.live ?? []).reduce((sum, t) => sum + t.length * 512, 0);
}

/** Major:minor devices a table segment uses. */
export function targetDevices(t: DmTarget): string[] {
  switch (t.type) {
    case 'linear':
    case 'flakey':
    case 'snapshot-origin':
      return [t.args[0]!];
    case 'delay':
      return t.args.filter((_, i) => i % 3 === 0);
    case 'snapshot':
      return [t.args[0]!, t.args[1]!];
    default:
      return [];
  }
}

/** Logical block size in bytes: 4096 for zram, 512 for loop, the largest below for dm. */
export function logicalBlockSize(state: KernelState, dev: Dev, depth = 0): number {
  if (dev.kind === 'zram') return 4096;
  if (dev.kind === 'loop' || depth > 16) return 512;
  return tableBlockSize(state, dev.dm.live ?? [], depth);
}

/** The logical block size a dm table gets from the devices it uses. */
export function tableBlockSize(state: KernelState, table: DmTarget[], depth = 0): number {
  let lbs = 512;
  for (const t of table) {
    for (const ref of targetDevices(t)) {
      const below = findDevice(state, ref);
      if (below) lbs = Math.max(lbs, logicalBlockSize(state, below, depth + 1));
    }
  }
  return lbs;
}

/** dm devices whose live or inactive table uses `majmin`. */
export function dmUsers(state: KernelState, majmin: string): DmState[] {
  return state.dm.filter((d) => [...(d.live ?? []), ...(d.inactive ?? [])].some((t) => targetDevices(t).includes(majmin)));
}

/** Open count: dm tables using it + mounts of it + test-hook opens. */
export function openCount(state: KernelState, majmin: string): number {
  return dmUsers(state, majmin).length + state.mounts.filter((m) => m.majmin === majmin).length + (state.holds.devices[majmin] ?? 0);
}

/** Lazy detach: loops marked autoclear go away once nothing holds them. */
export function collectAutoclear(state: KernelState): void {
  const keep = state.loops.filter((l) => !l.autoclear || openCount(state, `${LOOP_MAJOR}:${l.n}`) > 0);
  for (let i = keep.length; i < state.loops.length; i++) nextDiskseq(state); // each detach takes a diskseq
  state.loops = keep;
}

/** Lowest number not in `used`. */
export function lowestFree(used: number[]): number {
  let n = 0;
  while (used.includes(n)) n++;
  return n;
}

/** The next diskseq of this boot (see KernelState.diskseq). */
export function nextDiskseq(state: KernelState): number {
  state.diskseq = (state.diskseq ?? 0) + 1;
  return state.diskseq;
}
