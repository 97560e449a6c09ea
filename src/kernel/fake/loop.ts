/**
 * Fake loop devices: attach binds the lowest free /dev/loopN (major 7) and records the
 * backing file's identity and the binding's new diskseq (detach takes one too, as on Linux); detach of a held device marks it autoclear and fails with
 * EBUSY, and the device goes away when its last holder does (lazy detach).
 */
import type { LoopAttachArgs, LoopInfo } from '../types.js';
import { fromFsError, kerr, type Ctx } from './context.js';
import { collectAutoclear, lowestFree, nextDiskseq, openCount } from './devices.js';
import { LOOP_MAJOR, type LoopState } from './state.js';

/** A loop device as `losetup -l` shows it. */
export function loopInfo(l: LoopState): LoopInfo {
  return {
    device: `/dev/loop${l.n}`,
    majmin: `${LOOP_MAJOR}:${l.n}`,
    backingFile: l.backingFile,
    backingIno: l.backingIno,
    backingDev: l.backingDev,
    offset: l.offset,
    sizeLimit: l.sizeLimit,
    readOnly: l.readOnly,
    autoclear: l.autoclear,
    diskseq: l.diskseq ?? 0,
  };
}

/** `losetup -a`. */
export function loopList(ctx: Ctx): LoopInfo[] {
  return [...ctx.state.loops].sort((a, b) => a.n - b.n).map(loopInfo);
}

function nonNegative(n: number | undefined, what: string): number {
  const v = n ?? 0;
  if (!Number.isSafeInteger(v) || v < 0) throw kerr('EINVAL', `invalid ${what} ${n}`);
  return v;
}

/** `losetup --find --show [--read-only] [--offset] [--sizelimit] FILE`. */
export async function loopAttach(ctx: Ctx, args: LoopAttachArgs): Promise<LoopInfo> {
  const offset = nonNegative(args.offset, 'offset');
  const sizeLimit = nonNegative(args.sizeLimit, 'sizelimit');
  let st, backingFile;
  try {
    st = await ctx.fs.stat(args.file);
    backingFile = await ctx.fs.realpath(args.file);
  } catch (err) {
    throw fromFsError(err, `losetup: ${args.file}`);
  }
  if (st.kind !== 'file') throw kerr('EINVAL', `losetup: ${args.file}: not a regular file`);
  let size = Math.max(0, st.size - offset);
  if (sizeLimit > 0) size = Math.min(size, sizeLimit);
  const loop: LoopState = {
    n: lowestFree(ctx.state.loops.map((l) => l.n)),
    backingFile,
    backingIno: st.ino,
    backingDev: st.dev,
    offset,
    sizeLimit,
    size: size - (size % 512),
    readOnly: args.readOnly,
    autoclear: false,
    diskseq: nextDiskseq(ctx.state),
  };
  ctx.state.loops.push(loop);
  ctx.state.loopNodes = Math.max(ctx.state.loopNodes ?? 0, loop.n + 1);
  ctx.touch();
  return loopInfo(loop);
}

/** `losetup -d DEVICE`: ENXIO when unbound; EBUSY (and autoclear set) while held. */
export async function loopDetach(ctx: Ctx, device: string): Promise<void> {
  const m = /^\/dev\/loop(\d+)$/.exec(device);
  const loop = m ? ctx.state.loops.find((l) => l.n === Number(m[1])) : undefined;
  if (!loop) throw kerr('ENXIO', `losetup: ${device}: detach failed: No such device or address`);
  if (openCount(ctx.state, `${LOOP_MAJOR}:${loop.n}`) > 0) {
    if (!loop.autoclear) {
      loop.autoclear = true;
      ctx.touch();
    }
    throw kerr('EBUSY', `${device} is still in use (dm table or mount); marked autoclear: the kernel detaches it when the last holder goes`);
  }
  ctx.state.loops = ctx.state.loops.filter((l) => l !== loop);
  nextDiskseq(ctx.state); // the kernel gives a detached loop device a new diskseq too
  collectAutoclear(ctx.state);
  ctx.touch();
}
