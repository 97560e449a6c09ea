/** What a preflight gets: the kernel (read-only use), where relative paths start, ids. */
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Kernel } from '../kernel/types.js';
import { checkMountpoint, type Mountpoint } from './files.js';
import { checkPath } from './values.js';

export type RawOptions = Record<string, string | boolean | undefined>;

export interface PreflightEnv {
  kernel: Kernel;
  cwd: string;
  /** where default mount points go: <runDir>/<id>/mnt */
  runDir: string;
  /** the id the run will get */
  id: string;
  /** a fresh UUID (for mkfs) */
  newUuid(): string;
}

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
