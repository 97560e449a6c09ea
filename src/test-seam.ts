/**
 * The one way a test build changes the app: another kernel, crash points, journal sync
 * calls left out. The shipped entry (src/cli/main.ts, dist/bin/flow.js) never installs a
 * seam, so whatever its environment says, the shipped `flow` runs the real kernel with
 * every sync and no crash point; it does not even contain the code that reads the test
 * switches. Only the test entry (src/testing/entry.ts, dist/test/flow.js) installs one,
 * before the command line starts.
 */
import type { CrashHook, SyncCall } from '../journal/durability.js';
import type { Kernel } from './kernel/types.js';
import type { CommandRunner } from './exec/command.js';

export interface TestSeam {
  /** the kernel to use instead of the real one (host-wide locks then live in the state directory) */
  openKernel?: () => Promise<Kernel>;
  /** called at every named crash point */
  crash?: CrashHook;
  /** arms (or, with undefined, disarms) `fn` at the midpoint of a dm create: the command running */
  setKernelMidpoint?: (fn: (() => void) | undefined) => void;
  /** journal sync calls to skip */
  disabledSyncs?: ReadonlySet<SyncCall>;
  /** the directory of administrators' workflows instead of /etc/flow/workflows */
  workflowsDir?: string;
  /** flow exec: how the command runs instead of `chroot ROOT ...` (the fake kernel's roots are plain directories) */
  execRunner?: CommandRunner;
  /** flow exec: binfmt_misc's directory instead of /proc/sys/fs/binfmt_misc */
  binfmtDir?: string;
}

let installed: TestSeam | undefined;

/** Test entry only: the seam every later `openApp` uses. */
export function installTestSeam(seam: TestSeam | undefined): void {
  installed = seam;
}

export function testSeam(): TestSeam | undefined {
  return installed;
}
