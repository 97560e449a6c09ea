/** What a preflight gets: the kernel (read-only use), where relative paths start, ids. */
import type { Kernel } from '../kernel/types.js';

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
