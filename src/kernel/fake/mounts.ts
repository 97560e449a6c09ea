/**
 * Fake mounts: the source must be a fake block device carrying an ext or vfat filesystem
 * (or, with `bind`, a directory)
 * (superblock read through the device stack), the target an existing directory on the
 * Fs. ext4's own checks are modelled: a block size below the device's logical block
 * size ("bad block size") and a filesystem larger than the device are EINVAL.
 */
import type { MountEntry } from '../types.js';
import { readDevice } from './blockio.js';
import { fromFsError, kerr, type Ctx } from './context.js';
import { collectAutoclear, deviceSize, findDevice, kernelName, logicalBlockSize } from './devices.js';
import { decodeFakeFiles, decodeSuperblock, FAKE_FILES_OFFSET, FAKE_FILES_SIZE, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE } from './ext.js';
import { decodeBootSector } from './vfat.js';
import type { MountState } from './state.js';

/** Mount id of the (implicit) root mount that fake mounts hang below. */
export const ROOT_MOUNT_ID = 1;

function entry(m: MountState): MountEntry {
  // fake filesystems are ext: the device number is the block device's own
  return { id: m.id, parentId: m.parentId, majmin: m.majmin, root: m.root ?? '/', target: m.target, options: [...m.options], fstype: m.fstype, source: m.source, device: m.majmin };
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
    if (await dirInsideMount(ctx, target)) return target;
    throw fromFsError(err, `mount point ${target}`);
  }
}

/**
 * A directory of a mounted fake ext filesystem (its file table lists "REL/"): the Fs holds
 * no content of mounted filesystems, so a mount inside one (pi-image's boot partition at
 * /boot/firmware of the root) finds its directory here.
 */
async function dirInsideMount(ctx: Ctx, target: string): Promise<boolean> {
  const m = [...ctx.state.mounts].filter((x) => x.target !== target && under(target, x.target)).sort((a, b) => b.target.length - a.target.length)[0];
  const dev = m && findDevice(ctx.state, m.majmin);
  if (!m || !dev || m.root !== undefined && m.root !== '/') return false;
  try {
    const files = decodeFakeFiles(await readDevice(ctx, dev, FAKE_FILES_OFFSET, FAKE_FILES_SIZE));
    return Object.hasOwn(files, `${target.slice(m.target === '/' ? 0 : m.target.length)}/`);
  } catch {
    return false;
  }
}

/**
 * The filesystem a path lives on, as mountinfo would name a bind mount of it: the fake
 * mount holding the path (the last one mounted at the longest covering target), its
 * device and the path within it; a path on no fake mount is on the Fs itself (`dev`).
 */
export function fsOfPath(mounts: readonly MountState[], path: string, dev: string): { majmin: string; root: string; source: string; fstype: string } {
  const m = [...mounts].filter((x) => under(path, x.target)).sort((a, b) => b.target.length - a.target.length || b.id - a.id)[0];
  if (!m) return { majmin: dev, root: path, source: 'simfs', fstype: 'simfs' };
  const rel = path.slice(m.target === '/' ? 0 : m.target.length);
  const base = m.root ?? '/';
  return { majmin: m.majmin, root: rel === '' ? base : base === '/' ? rel : `${base}${rel}`, source: m.source, fstype: m.fstype };
}

/** A bind of a regular file (flow exec's /etc/resolv.conf): onto a regular file, as the kernel wants it (ENOTDIR/EISDIR otherwise). */
async function fileBind(ctx: Ctx, args: { source: string; target: string }): Promise<boolean> {
  const [src, dst] = await Promise.all([ctx.fs.stat(args.source).catch(() => null), ctx.fs.stat(args.target).catch(() => null)]);
  if (src?.kind !== 'file') return false;
  if (dst?.kind !== 'file') throw kerr('EINVAL', `mount: ${args.target}: a file is bound onto a regular file only`);
  return true;
}

/** mount [-t ext4|vfat] [-o options] -- SOURCE TARGET; `-o bind[,ro]` -- DIR TARGET. */
export async function mountFs(ctx: Ctx, args: { source: string; target: string; options: string[]; fstype?: string }): Promise<void> {
  const target = args.options.includes('bind') && (await fileBind(ctx, args)) ? await ctx.fs.realpath(args.target) : await canonicalDir(ctx, args.target);
  if (args.fstype !== undefined && !['ext4', 'ext3', 'ext2', 'vfat'].includes(args.fstype)) throw kerr('EINVAL', `unknown filesystem type ${args.fstype}`);
  if (ctx.state.mounts.some((m) => m.target === target)) throw kerr('EBUSY', `mount: ${args.target}: something is already mounted there`);
  const parent = [...ctx.state.mounts].filter((m) => under(target, m.target)).sort((a, b) => b.target.length - a.target.length)[0];
  const extra = args.options.filter((o) => o !== 'ro' && o !== 'rw' && o !== 'defaults' && o !== 'bind');
  // mountinfo shows one atime mode: relatime unless another was asked for
  const atime = extra.some((o) => o === 'noatime' || o === 'strictatime' || o === 'relatime') ? [] : ['relatime'];
  if (args.options.includes('bind')) {
    let source: string;
    try {
      const kind = (await ctx.fs.stat(args.source)).kind;
      if (kind !== 'dir' && kind !== 'file') throw kerr('EINVAL', `mount: ${args.target}: bind source ${args.source} is not a directory or a regular file`);
      source = await ctx.fs.realpath(args.source);
    } catch (err) {
      throw fromFsError(err, `mount: ${args.target}: bind source ${args.source}`);
    }
    const st = await ctx.fs.stat(source);
    const of = fsOfPath(ctx.state.mounts, source, st.dev);
    const readOnly = args.options.includes('ro');
    ctx.state.mounts.push({ id: ctx.state.nextMountId++, parentId: parent?.id ?? ROOT_MOUNT_ID, source: of.source, majmin: of.majmin, root: of.root, target, options: [readOnly ? 'ro' : 'rw', ...atime, ...extra], fstype: of.fstype });
    ctx.touch();
    return;
  }
  const dev = findDevice(ctx.state, args.source);
  if (!dev) throw kerr('ENOENT', `mount: ${args.target}: special device ${args.source} does not exist`);
  const bad = (why: string) => kerr('EINVAL', `mount: ${args.target}: wrong fs type, bad option, bad superblock on ${args.source} (${why})`);
  let sb, fat;
  try {
    sb = decodeSuperblock(await readDevice(ctx, dev, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE));
    fat = sb ? null : decodeBootSector(await readDevice(ctx, dev, 0, 512));
  } catch (err) {
    throw bad(`cannot read superblock: ${err instanceof Error ? err.message : String(err)}`);
  }
  const lbs = logicalBlockSize(ctx.state, dev);
  if (!sb && !fat) throw bad('no ext or vfat filesystem found');
  if (args.fstype !== undefined && args.fstype !== (sb ? 'ext4' : 'vfat') && !(sb && args.fstype.startsWith('ext'))) throw bad(`not ${args.fstype}`);
  if (fat && fat.sectorSize < lbs) throw bad(`FAT-fs (${kernelName(dev)}): logical sector size too small for device (logical sector size = ${fat.sectorSize})`);
  if (sb && sb.blockSize < lbs) throw bad(`EXT4-fs (${kernelName(dev)}): bad block size ${sb.blockSize}`);
  if (sb && sb.blockCount * sb.blockSize > deviceSize(dev)) {
    throw bad(`EXT4-fs (${kernelName(dev)}): bad geometry: block count ${sb.blockCount} exceeds size of device (${Math.floor(deviceSize(dev) / sb.blockSize)} blocks)`);
  }
  const readOnly = args.options.includes('ro') || (dev.kind === 'loop' && dev.loop.readOnly) || (dev.kind === 'dm' && dev.dm.readOnly);
  // a second mount of a mounted device shares its superblock: another read-only flag is EBUSY (mount_bdev)
  const same = ctx.state.mounts.find((m) => m.majmin === dev.majmin);
  if (same && same.options.includes('ro') !== readOnly) throw kerr('EBUSY', `mount: ${args.target}: ${args.source} already mounted ${readOnly ? 'read-write' : 'read-only'} on ${same.target}`);
  ctx.state.mounts.push({
    id: ctx.state.nextMountId++,
    parentId: parent?.id ?? ROOT_MOUNT_ID,
    source: args.source,
    majmin: dev.majmin,
    target,
    options: [readOnly ? 'ro' : 'rw', ...atime, ...extra],
    fstype: sb ? 'ext4' : 'vfat',
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

/** The mount at `target` (canonical), or EINVAL as fsfreeze would say for a path no filesystem is mounted on. */
async function mountAt(ctx: Ctx, target: string, verb: string): Promise<MountState> {
  let canonical = target;
  try {
    canonical = await ctx.fs.realpath(target);
  } catch (err) {
    if (!ctx.state.mounts.some((m) => m.target === target)) throw fromFsError(err, `fsfreeze: ${target}`);
  }
  // the real fsfreeze acts on the filesystem holding any path; flow only ever names a mount point
  const m = ctx.state.mounts.find((x) => x.target === canonical);
  if (!m) throw kerr('EINVAL', `fsfreeze: ${target}: ${verb} failed: Invalid argument (not a mount point)`);
  return m;
}

/** fsfreeze -f -- TARGET: EBUSY when frozen already (as FIFREEZE); a filesystem without freeze support (vfat) is ENOTSUP. */
export async function freezeFs(ctx: Ctx, target: string): Promise<void> {
  const m = await mountAt(ctx, target, 'freeze');
  if (m.fstype === 'vfat') throw kerr('ENOTSUP', `fsfreeze: ${target}: freeze failed: Operation not supported`);
  if (m.frozen) throw kerr('EBUSY', `fsfreeze: ${target}: freeze failed: Device or resource busy`);
  m.frozen = true;
  ctx.touch();
}

/** fsfreeze -u -- TARGET: EINVAL when not frozen (as FITHAW). */
export async function thawFs(ctx: Ctx, target: string): Promise<void> {
  const m = await mountAt(ctx, target, 'unfreeze');
  if (!m.frozen) throw kerr('EINVAL', `fsfreeze: ${target}: unfreeze failed: Invalid argument`);
  delete m.frozen;
  ctx.touch();
}
