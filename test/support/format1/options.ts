/** Options as the format-1 TypeScript preflights read them (test/support/format1): the mount point, a string option. */
import path from 'node:path';
import { UsageError } from '../../../src/errors.js';
import { checkMountpoint, type Mountpoint } from '../../../src/preflight/files.js';
import type { PreflightEnv, RawOptions } from '../../../src/preflight/types.js';
import { checkPath } from '../../../src/preflight/values.js';

/** The mount point from --mountpoint, or the run's default one; null with --no-mount. */
export async function mountpointFor(raw: RawOptions, env: PreflightEnv): Promise<Mountpoint | null> {
  if (raw.mount === false) {
    if (typeof raw.mountpoint === 'string') throw new UsageError('--mountpoint and --no-mount contradict each other', 'leave out one of them');
    return null;
  }
  const p = typeof raw.mountpoint === 'string' ? checkPath('--mountpoint', raw.mountpoint, env.cwd) : path.join(env.runDir, env.id, 'mnt');
  return checkMountpoint(env.kernel, '--mountpoint', p);
}

export function str(raw: RawOptions, key: string): string | undefined {
  const v = raw[key];
  return typeof v === 'string' ? v : undefined;
}
