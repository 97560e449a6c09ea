/** Preflight of delayed-device as format 1 had it: TS-shaped params for machines/delayed-device.ts, for the tests' format-1 runs only (./index.ts). A run uses machines/delayed-device.yaml. */
import { identityOf, type FileIdentity } from '../../../src/kernel/files.js';
import path from 'node:path';
import { UsageError } from '../../../src/errors.js';
import { delayedDeviceParams, type DelayedDeviceParams } from '../../../machines/delayed-device.js';
import { defaultName } from '../../../machines/types.js';
import { checkFsFits, existingFile, statOrNull } from '../../../src/preflight/files.js';
import type { PreflightEnv, RawOptions } from '../../../src/preflight/types.js';
import { mountpointFor, str } from './options.js';
import { checkDmName, checkPath, formatSize, parseInteger, parseSize } from '../../../src/preflight/values.js';

const MAX_DELAY_MS = 60_000;

export async function preflightDelayedDevice(raw: RawOptions, env: PreflightEnv): Promise<DelayedDeviceParams> {
  const k = env.kernel;
  if (typeof raw.file !== 'string') throw new UsageError('delayed-device needs --file PATH', 'e.g. flow run delayed-device --file /var/tmp/slow.img --size 256M');
  const file = checkPath('--file', raw.file, env.cwd);
  const delay = parseInteger('--delay', str(raw, 'delay') ?? '100', 0, MAX_DELAY_MS);
  const readDelay = raw.readDelay !== undefined ? parseInteger('--read-delay', str(raw, 'readDelay') ?? '', 0, MAX_DELAY_MS) : delay;
  const writeDelay = raw.writeDelay !== undefined ? parseInteger('--write-delay', str(raw, 'writeDelay') ?? '', 0, MAX_DELAY_MS) : delay;
  const name = checkDmName('--name', str(raw, 'name') ?? defaultName(env.id));
  const sizeGiven = str(raw, 'size');
  let size = parseSize('--size', sizeGiven ?? '1G', { multipleOf: 4096, why: 'the filesystem block size', min: 8 * 1024 * 1024 });

  const st = await statOrNull(k.fs, file, `--file ${file}`);
  let fileIdentity: FileIdentity | null = null;
  let realFile = file;
  if (st) {
    const f = await existingFile(k.fs, '--file', file);
    realFile = f.path;
    if (sizeGiven !== undefined && f.st.size !== size) throw new UsageError(`--size ${sizeGiven}: ${file} exists with another size (${f.st.size} bytes)`, 'leave out --size to use the file as it is, or give a new path');
    size = f.st.size - (f.st.size % 512);
    if (size === 0) throw new UsageError(`--file ${file} is smaller than one sector`, 'give a file with a filesystem, or a path that does not exist yet');
    fileIdentity = identityOf(f.st);
    if (raw.mount !== false) {
      const fs = await k.filesystems.probe(realFile);
      if (!fs) throw new UsageError(`--file ${file} holds no filesystem`, 'flow formats only files it creates: give a path that does not exist, or pass --no-mount');
      checkFsFits(`--file ${file}`, fs, size);
    }
  } else {
    const parent = await statOrNull(k.fs, path.dirname(file), `--file ${file}`);
    if (!parent || parent.kind !== 'dir') throw new UsageError(`--file ${file}: directory ${path.dirname(file)} does not exist`, `create it first (mkdir -p ${path.dirname(file)})`);
    // a file larger than its filesystem fails to be created (EFBIG) or fills it up later (ENOSPC): refused now
    const room = await k.fs.fsSize?.(path.dirname(file));
    if (room !== undefined && size > room) {
      throw new UsageError(`--size ${sizeGiven ?? formatSize(size)} is larger than the filesystem holding ${file} (${formatSize(room)})`, 'give a smaller --size, or put --file on a larger filesystem');
    }
  }
  // a file attached elsewhere, a dm name taken: refused by the steps' kinds (src/preflight/kinds.ts)
  const mp = await mountpointFor(raw, env);
  return delayedDeviceParams.parse({
    file: realFile,
    createFile: st === null,
    fileIdentity,
    size,
    readDelay,
    writeDelay,
    name,
    fsUuid: env.newUuid(),
    mountpoint: mp?.mountpoint ?? null,
    mountDirs: mp?.mountDirs ?? [],
    sync: raw.sync !== false,
  });
}
