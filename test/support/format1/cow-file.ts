/** --cow-file and --reuse-cow of the format-1 TypeScript snapshot-image preflight: the file checked, and the image and file not in use. */
import path from 'node:path';
import { UsageError } from '../../../src/errors.js';
import type { Kernel } from '../../../src/kernel/types.js';
import type { FsStat } from '../../../src/fs/types.js';
import { existingFile, statOrNull } from '../../../src/preflight/files.js';
import type { PreflightEnv, RawOptions } from '../../../src/preflight/types.js';
import { str } from './options.js';
import { checkPath } from '../../../src/preflight/values.js';

/** --cow-file: a new file (its directory must exist), or with --reuse-cow an existing one of the right size (`sizes`: the options that give it). */
export async function cowFile(env: PreflightEnv, raw: RawOptions, reuse: boolean, bytes: number, sizes: string) {
  const given = str(raw, 'cowFile');
  if (given === undefined) {
    if (reuse) throw new UsageError('--reuse-cow needs --cow-file PATH', 'give the COW file of the earlier run with --cow-file');
    return null;
  }
  const p = checkPath('--cow-file', given, env.cwd);
  const st = await statOrNull(env.kernel.fs, p, `--cow-file ${p}`);
  if (st) {
    if (!reuse) throw new UsageError(`--cow-file ${p} exists (the changes of an earlier run?)`, 'pass --reuse-cow to use it with the changes it holds, remove it, or give a new path');
    const f = await existingFile(env.kernel.fs, '--cow-file', p);
    if (f.st.size !== bytes) throw new UsageError(`--cow-file ${f.path} has ${f.st.size} bytes, not the ${bytes} of ${sizes}`, `give the ${sizes.split(' + ').join(' and ')} of the run that made it`);
    return { path: f.path, st: f.st };
  }
  if (reuse) throw new UsageError(`--reuse-cow: --cow-file ${p} does not exist`, 'leave out --reuse-cow to create it');
  const parent = await statOrNull(env.kernel.fs, path.dirname(p), `--cow-file ${p}`);
  if (!parent || parent.kind !== 'dir') throw new UsageError(`--cow-file ${p}: directory ${path.dirname(p)} does not exist`, `create it first (mkdir -p ${path.dirname(p)})`);
  return { path: path.join(await env.kernel.fs.realpath(path.dirname(p)), path.basename(p)), st: null };
}

/** Refuses an image attached read-write (its snapshot would not be stable) and a COW file some loop device already uses. */
export async function refuseAttached(k: Kernel, image: { path: string; st: Pick<FsStat, 'dev' | 'ino'> }, cow: { path: string; st: Pick<FsStat, 'dev' | 'ino'> | null } | null): Promise<void> {
  const loops = await k.loop.list();
  const rw = loops.find((l) => l.backingDev === image.st.dev && l.backingIno === image.st.ino && !l.readOnly);
  if (rw) throw new UsageError(`${image.path} is attached read-write at ${rw.device}: a snapshot of it would not be stable`, `detach it (umount what uses it, then losetup -d ${rw.device})`);
  if (cow?.st) {
    const st = cow.st;
    const busy = loops.find((l) => l.backingDev === st.dev && l.backingIno === st.ino);
    if (busy) throw new UsageError(`--cow-file ${cow.path} is attached at ${busy.device}: another run (or program) is using it`, 'roll that run back or detach it first');
  }
}
