/**
 * Preflight of pi-image: everything found and refused before the run is recorded. Reads
 * the image (never writes it): its partition table, the filesystems' labels and UUIDs,
 * and the root filesystem's /etc/fstab (debugfs, read-only) to find the boot partition
 * and where it is mounted; and the kernel's devices and names.
 */
import path from 'node:path';
import { identityOf } from '../kernel/files.js';
import { UsageError } from '../errors.js';
import type { Json } from '../../machines/types.js';
import { defaultName } from '../../machines/types.js';
import type { FsProbe } from '../kernel/types.js';
import { checkFsFits, existingFile } from './files.js';
import { bootEntry, BOOT_DIRS, parseFstab, partitionFor, partuuidOf, type PartitionNames } from './fstab.js';
import { cowFile, refuseAttached } from './cow-file.js';
import { choosePartition } from './partition.js';
import { mountpointFor, str, type PreflightEnv, type RawOptions } from './types.js';
import { checkDmName, checkPath, formatSize, parseInteger, parseSize, quote } from './values.js';

/** zram's logical block size, inherited by a snapshot with a zram COW */
const ZRAM_BLOCK = 4096;
const MAX_CHUNK = 2 ** 21;
const BOOT_AT = /^\/[A-Za-z0-9._/+-]*$/;

export interface PiImageFacts extends Json {
  image: string;
  imageIdentity: Json;
  imageSize: number;
  root: PartitionFacts;
  boot: PartitionFacts;
  bootAt: string;
  /** how the boot partition was found: "fstab: LABEL=bootfs", "--boot-partition" */
  bootFrom: string;
  size: number;
  cowSize: number;
  bootCowSize: number;
  cowFile: string | null;
  cowFileIdentity: Json | null;
  reuseCow: boolean;
  chunk: number;
  name: string;
  mountpoint: string;
  mountDirs: string[];
  /** the boot partition's mount point on the host: mountpoint + bootAt */
  bootMountpoint: string;
  grow: boolean;
}

export interface PartitionFacts extends Json {
  number: number;
  start: number;
  sectors: number;
  filesystem: string | null;
}

export async function preflightPiImage(raw: RawOptions, env: PreflightEnv): Promise<PiImageFacts> {
  const k = env.kernel;
  if (typeof raw.image !== 'string') throw new UsageError('pi-image needs --image FILE', 'e.g. flow run pi-image --image raspios.img --cow-file /var/tmp/raspios.cow');
  const size = parseSize('--size', str(raw, 'size') ?? '5G', { multipleOf: 512 });
  const cowSize = parseSize('--cow-size', str(raw, 'cowSize') ?? '512M', { multipleOf: 4096, why: 'the zram page size' });
  const bootCowSize = parseSize('--boot-cow-size', str(raw, 'bootCowSize') ?? '64M', { multipleOf: 4096, why: 'the zram page size' });
  const chunkHint = `use 8, 16, 32, ... sectors (a power of two, at most ${MAX_CHUNK})`;
  const chunk = parseInteger('--chunk', str(raw, 'chunk') ?? '16', 8, MAX_CHUNK, chunkHint);
  if ((chunk & (chunk - 1)) !== 0) throw new UsageError(`--chunk ${chunk} is not a power of two`, chunkHint);
  const name = checkDmName('--name', str(raw, 'name') ?? defaultName(env.id), '-boot-base'.length);
  const image = await existingFile(k.fs, '--image', checkPath('--image', raw.image, env.cwd));
  const reuseCow = raw.reuseCow === true;
  const cow = await cowFile(env, raw, reuseCow, cowSize + bootCowSize, '--cow-size + --boot-cow-size');
  if (!cow) {
    const mem = await k.system.memTotal();
    if (cowSize + bootCowSize > mem) throw new UsageError(`--cow-size ${formatSize(cowSize)} and --boot-cow-size ${formatSize(bootCowSize)} are more than this machine's memory (${formatSize(mem)})`, 'zram COWs live in RAM: choose smaller sizes, or keep the changes in a file with --cow-file PATH');
  }

  const table = await k.partitions.read(image.path);
  if (!table) throw new UsageError(`${image.path} has no partition table`, 'pi-image takes a whole disk image (a boot and a root partition); for a single filesystem use snapshot-image or loop-mount');
  const root = await choosePartition(env, image.path, image.st.size, str(raw, 'rootPartition')).catch(rename('--partition', '--root-partition'));
  const rootFs = await k.filesystems.probe(image.path, root.partStart * 512);
  const rootWhere = `partition ${root.partition} of ${image.path}`;
  if (!rootFs || !/^ext[234]$/.test(rootFs.type)) {
    throw new UsageError(`${rootWhere} holds ${rootFs ? `a ${rootFs.type} filesystem` : 'no filesystem flow recognises'}, not the ext4 root of a Raspberry Pi OS image`, 'name the root partition with --root-partition N');
  }
  checkFsFits(rootWhere, rootFs, root.partSectors * 512);
  if (!cow) refuseSmallBlocks(rootWhere, rootFs, 'blocks');

  // the boot partition and where it goes: from the image's own /etc/fstab, unless both are given
  const givenAt = str(raw, 'bootAt');
  if (givenAt !== undefined && (!BOOT_AT.test(givenAt) || givenAt.split('/').some((c) => c === '.' || c === '..') || givenAt === '/')) {
    throw new UsageError(`--boot-at ${quote(givenAt)} is not a directory inside the image`, 'give an absolute path such as /boot/firmware or /boot (letters, digits and . _ + - /)');
  }
  const givenBoot = str(raw, 'bootPartition');
  let bootAt = givenAt === undefined ? undefined : path.posix.normalize(givenAt).replace(/\/+$/, '');
  let bootFrom = '--boot-partition';
  let bootNumber: number | undefined;
  if (givenBoot === undefined || bootAt === undefined) {
    const text = await k.filesystems.readExtFile(image.path, root.partStart * 512, '/etc/fstab');
    const fix = 'name the boot partition and its place yourself: --boot-partition N --boot-at /boot/firmware';
    if (text === null) throw new UsageError(`the root filesystem (${rootWhere}) has no /etc/fstab`, fix);
    const entry = bootEntry(parseFstab(text), bootAt);
    if (!entry) throw new UsageError(`the image's /etc/fstab mounts nothing at ${bootAt ?? BOOT_DIRS.join(' or ')}`, fix);
    bootAt ??= entry.target;
    if (givenBoot === undefined) {
      const named = await partitionNames(env, image.path, table);
      const p = partitionFor(entry.spec, named);
      if (!p) throw new UsageError(`the image's /etc/fstab mounts ${quote(entry.spec)} at ${entry.target}, and no partition of ${image.path} is that one`, 'give the boot partition with --boot-partition N');
      bootNumber = p.number;
      bootFrom = `/etc/fstab: ${entry.spec}`;
    }
  }
  const boot = await choosePartition(env, image.path, image.st.size, givenBoot ?? String(bootNumber)).catch(rename('--partition', '--boot-partition'));
  if (boot.partition === root.partition) throw new UsageError(`the boot and the root partition are both partition ${root.partition}`, 'give two different partitions (--boot-partition, --root-partition)');
  const bootFs = await k.filesystems.probe(image.path, boot.partStart * 512);
  const bootWhere = `partition ${boot.partition} of ${image.path}`;
  if (!bootFs) throw new UsageError(`${bootWhere} (the boot partition) holds no filesystem flow recognises`, 'give the boot partition with --boot-partition N');
  if (!cow) refuseSmallBlocks(bootWhere, bootFs, bootFs.type === 'vfat' ? 'sectors' : 'blocks');

  await refuseAttached(k, image, cow);
  // its four dm names taken: refused by dm.create's preflight on the steps (src/preflight/kinds.ts)
  // the boot partition is mounted on the image's own directory: the run writes nothing into the root to make one
  if ((await k.filesystems.readExtFile(image.path, root.partStart * 512, bootAt!)) === null) {
    throw new UsageError(`the root filesystem (${rootWhere}) has no directory ${bootAt}`, 'give --boot-at a directory the image has (/boot/firmware on current Raspberry Pi OS, /boot before)');
  }
  const mp = (await mountpointFor({ ...raw, mount: true }, env))!;
  const part = (p: { partition: number | null; partStart: number; partSectors: number }, fs: FsProbe): PartitionFacts => ({ number: p.partition!, start: p.partStart, sectors: p.partSectors, filesystem: fs.type });
  return {
    image: image.path,
    imageIdentity: identityOf(image.st) as unknown as Json,
    imageSize: image.st.size,
    root: part(root, rootFs),
    boot: part(boot, bootFs),
    bootAt: bootAt!,
    bootFrom,
    size,
    cowSize,
    bootCowSize,
    cowFile: cow?.path ?? null,
    cowFileIdentity: cow?.st ? (identityOf(cow.st) as unknown as Json) : null,
    reuseCow,
    chunk,
    name,
    mountpoint: mp.mountpoint,
    mountDirs: mp.mountDirs,
    bootMountpoint: path.join(mp.mountpoint, bootAt!),
    grow: raw.grow !== false,
  };
}

/** choosePartition's messages name --partition; pi-image's options are --root-partition and --boot-partition. */
function rename(from: string, to: string) {
  return (err: unknown): never => {
    if (err instanceof UsageError) throw new UsageError(err.message.split(from).join(to), err.hint);
    throw err;
  };
}

/** A zram COW gives the snapshot 4096-byte logical blocks: a filesystem with smaller blocks (or FAT sectors) cannot be mounted there. */
function refuseSmallBlocks(where: string, fs: FsProbe, unit: string): void {
  if (fs.blockSize === undefined || fs.blockSize >= ZRAM_BLOCK) return;
  throw new UsageError(
    `the ${fs.type} filesystem on ${where} has ${fs.blockSize}-byte ${unit}, smaller than a zram COW's ${ZRAM_BLOCK}-byte logical blocks: the snapshot could not be mounted`,
    'keep the changes in a file instead: --cow-file PATH (a file-backed COW has 512-byte sectors)',
  );
}


/** Each partition with the names an fstab may use for it. */
async function partitionNames(env: PreflightEnv, image: string, table: NonNullable<Awaited<ReturnType<PreflightEnv['kernel']['partitions']['read']>>>): Promise<PartitionNames[]> {
  const out: PartitionNames[] = [];
  for (const p of table.partitions) {
    const fs = await env.kernel.filesystems.probe(image, (p.start * table.sectorSize)).catch(() => null);
    const partuuid = partuuidOf(table, p);
    out.push({ number: p.number, ...(partuuid ? { partuuid } : {}), ...(fs?.label ? { label: fs.label } : {}), ...(fs?.uuid ? { uuid: fs.uuid } : {}) });
  }
  return out;
}
