/**
 * Preflight of snapshot-image as format 1 had it: TS-shaped params for the frozen
 * machines/snapshot-image.ts, for the tests' format-1 runs only (./index.ts). A run of
 * snapshot-image is resolved and refused from machines/snapshot-image.yaml.
 */
import { identityOf } from '../../../src/kernel/files.js';
import { UsageError } from '../../../src/errors.js';
import { snapshotImageParams, type SnapshotImageParams } from '../../../machines/snapshot-image.js';
import { defaultName } from '../../../machines/types.js';
import { choosePartition } from '../../../src/preflight/partition.js';
import { checkFsFits, existingFile } from '../../../src/preflight/files.js';
import { cowFile, refuseAttached } from './cow-file.js';
import type { PreflightEnv, RawOptions } from '../../../src/preflight/types.js';
import { mountpointFor, str } from './options.js';
import { checkDmName, checkPath, formatSize, parseInteger, parseSize } from '../../../src/preflight/values.js';

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
