/** Preflight of loop-mount as format 1 had it: TS-shaped params for machines/loop-mount.ts, for the tests' format-1 runs only (./index.ts). A run uses machines/loop-mount.yaml. */
import { identityOf } from '../../../src/kernel/files.js';
import { UsageError } from '../../../src/errors.js';
import { loopMountParams, type LoopMountParams } from '../../../machines/loop-mount.js';
import { checkFsFits, existingFile } from '../../../src/preflight/files.js';
import type { PreflightEnv, RawOptions } from '../../../src/preflight/types.js';
import { mountpointFor } from './options.js';
import { checkPath } from '../../../src/preflight/values.js';

export async function preflightLoopMount(raw: RawOptions, env: PreflightEnv): Promise<LoopMountParams> {
  const k = env.kernel;
  if (typeof raw.file !== 'string') throw new UsageError('loop-mount needs --file PATH', 'e.g. flow run loop-mount --file rootfs.ext4');
  const f = await existingFile(k.fs, '--file', checkPath('--file', raw.file, env.cwd));
  const fs = await k.filesystems.probe(f.path);
  if (!fs) throw new UsageError(`--file ${f.path} holds no filesystem`, 'loop-mount mounts an image that has one (e.g. made with mkfs.ext4)');
  checkFsFits(`--file ${f.path}`, fs, f.st.size);
  const readOnly = raw.readOnly === true;
  if (!readOnly) {
    const busy = (await k.loop.list()).find((l) => l.backingDev === f.st.dev && l.backingIno === f.st.ino);
    if (busy) throw new UsageError(`--file ${f.path} is already attached at ${busy.device}`, 'mounting it twice read-write would corrupt it; use --read-only or detach it');
  }
  const mp = await mountpointFor({ ...raw, mount: true }, env);
  return loopMountParams.parse({ file: f.path, fileIdentity: identityOf(f.st), readOnly, mountpoint: mp!.mountpoint, mountDirs: mp!.mountDirs });
}
