/**
 * Preflight of snapshot-image: everything that can be wrong is found here, before the run
 * is recorded. Reads the image (never writes it), its partition table and filesystem, and
 * the kernel's devices.
 */
import { identityOf } from '../kernel/files.js';
import { UsageError } from '../errors.js';
import { snapshotImageParams, type SnapshotImageParams } from '../../machines/snapshot-image.js';
import { defaultName } from '../../machines/types.js';
import type { Partition, PartitionTable } from '../kernel/types.js';
import { checkFsFits, existingFile } from './files.js';
import { cowFile, refuseAttached } from './cow-file.js';
import { mountpointFor, str, type PreflightEnv, type RawOptions } from './types.js';
import { checkDmName, checkPath, formatSize, parseInteger, parseSize } from './values.js';

const EXTENDED = new Set(['5', 'f', '85', '0x5', '0xf', '0x85']);
const LINUX = new Set(['83', '0x83', '0fc63daf-8483-4772-8e79-3d69d8477de4']);
/** zram's logical block size, inherited by a snapshot with a zram COW */
const COW_BLOCK = 4096;
/** dm-snapshot's largest chunk, in sectors (1 GiB) */
const MAX_CHUNK = 2 ** 21;

export async function preflightSnapshotImage(raw: RawOptions, env: PreflightEnv): Promise<SnapshotImageParams> {
  const k = env.kernel;
  if (typeof raw.image !== 'string') throw new UsageError('snapshot-image needs --image FILE', 'e.g. flow run snapshot-image --image raspios.img');
  const size = parseSize('--size', str(raw, 'size') ?? '5G', { multipleOf: 512 });
  const cowSize = parseSize('--cow-size', str(raw, 'cowSize') ?? '512M', { multipleOf: 4096, why: 'the zram page size' });
  const chunkHint = `use 8, 16, 32, ... sectors (a power of two, at most ${MAX_CHUNK})`;
  const chunk = parseInteger('--chunk', str(raw, 'chunk') ?? '16', 0, MAX_CHUNK, chunkHint);
  if (chunk < COW_BLOCK / 512) throw new UsageError(`--chunk ${chunk} is too small: a chunk must hold at least one ${COW_BLOCK}-byte zram block (8 sectors)`, chunkHint);
  if ((chunk & (chunk - 1)) !== 0) throw new UsageError(`--chunk ${chunk} is not a power of two`, chunkHint);
  const name = checkDmName('--name', str(raw, 'name') ?? defaultName(env.id), '-base'.length);
  const image = await existingFile(k.fs, '--image', checkPath('--image', raw.image, env.cwd));
  const reuseCow = raw.reuseCow === true;
  const cow = await cowFile(env, raw, reuseCow, cowSize, '--cow-size');

  const mem = await k.system.memTotal();
  if (!cow && cowSize > mem) throw new UsageError(`--cow-size ${formatSize(cowSize)} is larger than this machine's memory (${formatSize(mem)})`, 'a zram COW lives in RAM: choose a smaller --cow-size, or keep the changes in a file with --cow-file PATH');

  const { partition, partStart, partSectors } = await choosePartition(env, image.path, image.st.size, str(raw, 'partition'));
  const fs = await k.filesystems.probe(image.path, partStart * 512);
  const mounting = raw.mount !== false;
  const where = partition === null ? `${image.path}` : `partition ${partition} of ${image.path}`;
  if (!cow && fs?.blockSize !== undefined && fs.blockSize < COW_BLOCK) {
    throw new UsageError(
      `the filesystem on ${where} has ${fs.blockSize}-byte blocks, smaller than the zram COW's ${COW_BLOCK}-byte logical blocks: the snapshot could not be mounted ("bad block size")`,
      'keep the changes in a file instead: --cow-file PATH (a file-backed COW has 512-byte sectors)',
    );
  }
  if (mounting && !fs) throw new UsageError(`${where} holds no filesystem flow recognises`, 'pass --no-mount to create the devices only');
  if (mounting) checkFsFits(where, fs, partSectors * 512);
  const isExt = fs !== null && /^ext[234]$/.test(fs.type);

  await refuseAttached(k, image, cow);

  // NAME and NAME-base taken: refused by dm.create's preflight on the steps (src/preflight/kinds.ts)
  const mp = await mountpointFor(raw, env);
  return snapshotImageParams.parse({
    image: image.path,
    imageIdentity: identityOf(image.st),
    partition,
    partStart,
    partSectors,
    size,
    cowSize,
    chunk,
    name,
    mountpoint: mp?.mountpoint ?? null,
    mountDirs: mp?.mountDirs ?? [],
    grow: raw.grow !== false && mounting && isExt,
    ...(cow ? { cowFile: cow.path, cowFileIdentity: cow.st ? identityOf(cow.st) : null, reuseCow } : {}),
  });
}

export async function choosePartition(env: PreflightEnv, image: string, bytes: number, rawPartition: string | undefined) {
  const table = await env.kernel.partitions.read(image);
  if (rawPartition !== undefined) {
    const n = parseInteger('--partition', rawPartition, 1, 128);
    if (!table) throw new UsageError(`--partition ${n}: ${image} has no partition table`, 'leave out --partition to use the whole image');
    const p = table.partitions.find((x) => x.number === n);
    if (!p) throw new UsageError(`--partition ${n} is out of range: ${image} has ${describe(table)}`, 'pick one of those numbers');
    if (EXTENDED.has(p.type.toLowerCase())) throw new UsageError(`--partition ${n} is an extended partition (a container of other partitions)`, `pick a partition inside it: ${describe(table)}`);
    return fits(image, bytes, table, p);
  }
  if (!table) {
    if (bytes < 512) throw new UsageError(`${image} is smaller than one sector`, 'give a disk image');
    return { partition: null, partStart: 0, partSectors: Math.floor(bytes / 512) };
  }
  const linux = table.partitions.filter((p) => LINUX.has(p.type.toLowerCase())).sort((a, b) => b.size - a.size);
  if (!linux[0]) throw new UsageError(`${image} has no Linux partition: ${describe(table)}`, 'choose one with --partition N');
  return fits(image, bytes, table, linux[0]);
}

/** The partition in sectors, refused when the table puts it (partly) past the end of the image. */
function fits(image: string, bytes: number, t: PartitionTable, p: Partition) {
  const s = toSectors(t, p);
  if ((s.partStart + s.partSectors) * 512 > bytes) {
    throw new UsageError(
      `partition ${p.number} of ${image} ends at byte ${(s.partStart + s.partSectors) * 512}, past the end of the image (${bytes} bytes)`,
      'the image is truncated or its partition table is damaged: check it with sfdisk -l, or use another image',
    );
  }
  return s;
}

function toSectors(t: PartitionTable, p: Partition) {
  return { partition: p.number, partStart: (p.start * t.sectorSize) / 512, partSectors: (p.size * t.sectorSize) / 512 };
}

function describe(t: PartitionTable): string {
  if (t.partitions.length === 0) return 'no partitions';
  return 'partitions ' + t.partitions.map((p) => `${p.number} (type ${p.type}, ${formatSize(p.size * t.sectorSize)})`).join(', ');
}
