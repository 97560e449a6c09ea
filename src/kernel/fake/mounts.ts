/**
 * Fake mounts: the source must be a fake block device carrying an ext filesystem
 * (superblock read through the device stack), the target an existing directory on the
 * Fs. ext4's own checks are modelled: a block size below the device's logical block
 * size ("bad block size") and a filesystem larger than the device are EINVAL.
 */
import type { MountEntry } from '../types.js';
import { readDevice } from './blockio.js';
import { fromFsError, kerr, type Ctx } from './context.js';
import { collectAutoclear, deviceSize, findDevice, kernelName, logicalBlockSize } from './devices.js';
import { decodeSuperblock, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE } from './ext.js';
import type { MountState } from './state.js';

/** Mount id of the (implicit) root mount that fake mounts hang below. */
export const ROOT_MOUNT_ID = 1;

function entry(m: MountState): MountEntry {
  // fake filesystems are ext: the device number is the block device's own
  return { id: m.id, parentId: m.parentId, majmin: m.majmin, root: '/', target: m.target, options: [...m.options], fstype: m.fstype, source: m.source, device: m.majmin };
}

/** /proc/self/mountinfo (fake mounts only). */
export function mountList(ctx: Ctx): MountEntry[] {
  return [...ctx.state.mounts].sort((a, b) => a.id - b.id).map(entry);
}

const under = (path: string, dir: string) => dir === '/' || path === dir || path.startsWith(`${dir}/`);

async function canonicalDir(ctx: Ctx, target: string): Promise<string> {
  try {
    const st = await ctx.fs.stat(target);
    if (st.kind !== 'dir') throw kerr('EINVAL', `mount point ${target} is not a directory`);
    return await ctx.fs.realpath(target);
  } catch (err) {
    throw fromFsError(err, `mount point ${target}`);
  }
}

/** mount [-t ext4] [-o options] -- SOURCE TARGET */
export async function mountFs(ctx: Ctx, args: { source: string; target: string; options: string[]; fstype?: string }): Promise<void> {
  const target = await canonicalDir(ctx, args.target);
  if (args.fstype !== undefined && !['ext4', 'ext3', 'ext2'].includes(args.fstype)) throw kerr('EINVAL', `unknown filesystem type ${args.fstype}`);
  const dev = findDevice(ctx.state, args.source);
  if (!dev) throw kerr('ENOENT', `mount: ${args.target}: special device ${args.source} does not exist`);
  if (ctx.state.mounts.some((m) => m.target === target)) throw kerr('EBUSY', `mount: ${args.target}: something is already mounted there`);
  const bad = (why: string) => kerr('EINVAL', `mount: ${args.target}: wrong fs type, bad option, bad superblock on ${args.source} (${why})`);
  let sb;
  try {
    sb = decodeSuperblock(await readDevice(ctx, dev, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE));
  } catch (err) {
    throw bad(`cannot read superblock: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!sb) throw bad('no ext filesystem found');
  const lbs = logicalBlockSize(ctx.state, dev);
  if (sb.blockSize < lbs) throw bad(`EXT4-fs (${kernelName(dev)}): bad block size ${sb.blockSize}`);
  if (sb.blockCount * sb.blockSize > deviceSize(dev)) {
    throw bad(`EXT4-fs (${kernelName(dev)}): bad geometry: block count ${sb.blockCount} exceeds size of device (${Math.floor(deviceSize(dev) / sb.blockSize)} blocks)`);
  }
  const readOnly = args.options.includes('ro') || (dev.kind === 'loop' && dev.loop.readOnly) || (dev.kind === 'dm' && dev.dm.readOnly);
  const extra = args.options.filter((o) => o !== 'ro' && o !== 'rw' && o !== 'defaults');
  const parent = [...ctx.state.mounts].filter((m) => under(target, m.target)).sort((a, b) => b.target.length - a.target.length)[0];
  ctx.state.mounts.push({
    id: ctx.state.nextMountId++,
    parentId: parent?.id ?? ROOT_MOUNT_ID,
    source: args.source,
    majmin: dev.majmin,
    target,
    options: [readOnly ? 'ro' : 'rw', 'relatime', ...extra],
    fstype: 'ext4',
  });
  ctx.touch();
}

/** umount TARGET: EINVAL when not a mount point, EBUSY while in use. */
export async function umountFs(ctx: Ctx, target: string): Promise<void> {
  let canonical = target;
  try {
    canonical = await ctx.fs.realpath(target);
  } catch {
    if (!ctx.state.mounts.some((m) => m.target === target)) throw kerr('ENOENT', `umount: ${target}: no such file or directory`);
  }
  const m = ctx.state.mounts.find((x) => x.target === canonical);
  if (!m) throw kerr('EINVAL', `umount: ${target}: not mounted`);
  if (ctx.state.holds.mounts.includes(m.target)) throw kerr('EBUSY', `umount: ${target}: target is busy`);
  if (ctx.state.mounts.some((x) => x !== m && x.target !== m.target && under(x.target, m.target))) throw kerr('EBUSY', `umount: ${target}: target is busy (a mount below it)`);
  const dev = findDevice(ctx.state, m.majmin);
  if (dev?.kind === 'dm' && dev.dm.suspended) throw kerr('ETIMEDOUT', `umount: ${target}: hangs: ${dev.dm.name} is suspended (resume it first)`);
  ctx.state.mounts = ctx.state.mounts.filter((x) => x !== m);
  collectAutoclear(ctx.state);
  ctx.touch();
}
