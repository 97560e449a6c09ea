/**
 * Fake blkid / mkfs.ext4 / mkfs.vfat / resize2fs over files on the Fs and fake block devices.
 * mkfs writes a minimal ext4 superblock (see ext.ts) and fsyncs; grow sets the block
 * count to the device size and is a no-op when it already matches.
 */
import type { FsProbe } from '../types.js';
import { readDevice, writeDevice } from './blockio.js';
import { fromFsError, kerr, type Ctx } from './context.js';
import { deviceSize, findDevice, logicalBlockSize, openCount, type Dev } from './devices.js';
import { decodeBootSector, encodeBootSector, isVolumeId, MIN_VFAT_BYTES } from './vfat.js';
import { decodeFakeFiles, decodeSuperblock, encodeSuperblock, FAKE_FILES_OFFSET, FAKE_FILES_SIZE, isExtBlockSize, isUuid, setBlockCount, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE } from './ext.js';

const MIN_FS_BYTES = 64 * 1024;

/** Reads `length` bytes at `offset` of a /dev path (fake device) or a file on the Fs. */
export async function readTarget(ctx: Ctx, path: string, offset: number, length: number): Promise<Uint8Array> {
  if (path.startsWith('/dev/')) {
    const dev = findDevice(ctx.state, path);
    if (!dev) throw kerr('ENOENT', `${path}: no such device`);
    return readDevice(ctx, dev, offset, length);
  }
  try {
    const h = await ctx.fs.open(path, { mode: 'read' });
    try {
      return await h.read(length, offset);
    } finally {
      await h.close();
    }
  } catch (err) {
    throw fromFsError(err, path);
  }
}

/** blkid -p [--offset] PATH */
export async function probeFs(ctx: Ctx, path: string, offset = 0): Promise<FsProbe | null> {
  const sb = decodeSuperblock(await readTarget(ctx, path, offset + SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE));
  if (sb) return { type: sb.type, uuid: sb.uuid, blockSize: sb.blockSize, blockCount: sb.blockCount, ...(sb.label ? { label: sb.label } : {}) };
  const fat = decodeBootSector(await readTarget(ctx, path, offset, 512));
  // blkid prints a FAT's logical sector size as BLOCK_SIZE
  return fat && { type: 'vfat', uuid: fat.uuid, blockSize: fat.sectorSize, ...(fat.label ? { label: fat.label } : {}) };
}

/** debugfs -R 'cat FILE' PATH?offset=N: the fake ext filesystem's files live in a table after its superblock (ext.ts). */
export async function readExtFile(ctx: Ctx, path: string, offset: number, file: string): Promise<string | null> {
  const sb = decodeSuperblock(await readTarget(ctx, path, offset + SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE));
  if (!sb) throw kerr('EINVAL', `debugfs: bad magic number in super-block while trying to open ${path}?offset=${offset}`);
  const files = decodeFakeFiles(await readTarget(ctx, path, offset + FAKE_FILES_OFFSET, FAKE_FILES_SIZE));
  if (Object.hasOwn(files, file)) return files[file]!;
  // a directory ("PATH/" in the table): debugfs cat prints its raw entries
  return Object.hasOwn(files, `${file}/`) ? '' : null;
}

/** mkfs.vfat -i VOLUMEID -- TARGET: a FAT32 boot sector whose sector size is the device's logical block size. */
export async function mkfsVfat(ctx: Ctx, args: { target: string; volumeId: string }): Promise<void> {
  if (!isVolumeId(args.volumeId)) throw kerr('EINVAL', `mkfs.vfat: invalid volume ID ${args.volumeId}`);
  if (args.target.startsWith('/dev/')) {
    const dev = findDevice(ctx.state, args.target);
    if (!dev) throw kerr('ENOENT', `mkfs.vfat: ${args.target}: no such device`);
    if (openCount(ctx.state, dev.majmin) > 0) throw kerr('EBUSY', `mkfs.vfat: ${args.target} contains a mounted filesystem or is held`);
    const bytes = deviceSize(dev);
    if (bytes < MIN_VFAT_BYTES) throw kerr('EINVAL', `mkfs.vfat: ${args.target}: too small (${bytes} bytes)`);
    await writeDevice(ctx, dev, 0, encodeBootSector({ volumeId: args.volumeId, sectorSize: logicalBlockSize(ctx.state, dev), bytes }));
    ctx.touch();
    return;
  }
  try {
    const h = await ctx.fs.open(args.target, { mode: 'write' });
    try {
      const bytes = (await h.stat()).size;
      if (bytes < MIN_VFAT_BYTES) throw kerr('EINVAL', `mkfs.vfat: ${args.target}: too small (${bytes} bytes)`);
      await h.write(encodeBootSector({ volumeId: args.volumeId, sectorSize: 512, bytes }), 0);
      await h.sync();
    } finally {
      await h.close();
    }
  } catch (err) {
    throw fromFsError(err, `mkfs.vfat ${args.target}`);
  }
  ctx.touch();
}

/** mkfs.ext4 -F -q -b BLOCKSIZE -U UUID -- TARGET */
export async function mkfsExt4(ctx: Ctx, args: { target: string; uuid: string; blockSize: number }): Promise<void> {
  if (!isUuid(args.uuid)) throw kerr('EINVAL', `mkfs.ext4: invalid UUID ${args.uuid}`);
  if (!isExtBlockSize(args.blockSize)) throw kerr('EINVAL', `mkfs.ext4: invalid block size ${args.blockSize}`);
  if (args.target.startsWith('/dev/')) {
    const dev = findDevice(ctx.state, args.target);
    if (!dev) throw kerr('ENOENT', `mkfs.ext4: ${args.target}: no such device`);
    if (openCount(ctx.state, dev.majmin) > 0) throw kerr('EBUSY', `mkfs.ext4: ${args.target} is apparently in use by the system (mounted or held); will not make a filesystem here`);
    if (args.blockSize < logicalBlockSize(ctx.state, dev)) throw kerr('EINVAL', `mkfs.ext4: while setting blocksize; too small for device ${args.target}`);
    const sb = encodeSuperblock({ uuid: args.uuid, blockSize: args.blockSize, blockCount: fsBlocks(deviceSize(dev), args) });
    await writeDevice(ctx, dev, SUPERBLOCK_OFFSET, sb);
    ctx.touch();
    return;
  }
  try {
    const h = await ctx.fs.open(args.target, { mode: 'write' });
    try {
      const size = (await h.stat()).size;
      await h.write(encodeSuperblock({ uuid: args.uuid, blockSize: args.blockSize, blockCount: fsBlocks(size, args) }), SUPERBLOCK_OFFSET);
      await h.sync();
    } finally {
      await h.close();
    }
  } catch (err) {
    throw fromFsError(err, `mkfs.ext4 ${args.target}`);
  }
  ctx.touch();
}

function fsBlocks(bytes: number, args: { target: string; blockSize: number }): number {
  if (bytes < MIN_FS_BYTES) throw kerr('EINVAL', `mkfs.ext4: ${args.target}: filesystem too small (${bytes} bytes)`);
  return Math.floor(bytes / args.blockSize);
}

/** resize2fs DEVICE: grows the filesystem to the device size; "Nothing to do" when it fits. */
export async function growFs(ctx: Ctx, device: string): Promise<void> {
  const dev: Dev | null = findDevice(ctx.state, device);
  if (!dev) throw kerr('ENOENT', `resize2fs: ${device}: no such device`);
  const raw = await readDevice(ctx, dev, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE);
  const sb = decodeSuperblock(raw);
  if (!sb) throw kerr('EINVAL', `resize2fs: bad magic number in super-block of ${device}`);
  const blocks = Math.floor(deviceSize(dev) / sb.blockSize);
  if (blocks < sb.blockCount) throw kerr('EINVAL', `resize2fs: ${device} is only ${blocks} blocks, the filesystem has ${sb.blockCount}`);
  if (blocks === sb.blockCount) return;
  await writeDevice(ctx, dev, SUPERBLOCK_OFFSET, setBlockCount(raw, blocks));
  ctx.touch();
}

/**
 * sync -f -- PATH: the fake caches nothing, so only that PATH exists is checked: a fake device,
 * a fake mount's target (a nested one exists only inside its mounted filesystem) or a path on the Fs.
 */
export async function syncFs(ctx: Ctx, path: string): Promise<void> {
  if (findDevice(ctx.state, path) || ctx.state.mounts.some((m) => m.target === path)) return;
  await ctx.fs.stat(path).catch((e: unknown) => {
    throw fromFsError(e, `sync: error opening '${path}'`);
  });
}
