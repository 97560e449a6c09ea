/**
 * The test entry's seam, from its environment (switches.ts lists the variables), and none
 * when no switch is set: then the test entry runs exactly as the shipped binary.
 *   FLOW_FAKE_KERNEL=<file>   a persisted fake kernel in that file instead of the host's
 *   FLOW_WORKFLOWS_DIR=<dir> administrators' workflows from there instead of /etc/flow/workflows
 *   FLOW_BINFMT_DIR=<dir>    flow exec reads binfmt_misc entries from there instead of /proc/sys/fs/binfmt_misc
 *   (with FLOW_FAKE_KERNEL, flow exec runs its command in the fake root without chroot: exec-runner.ts,
 *   and flow export reads the fake kernel's devices)
 *   the others               crash points, pauses, halts, sync calls left out: crash-env.ts
 */
import { realFs } from '../fs/real.js';
import type { FakeKernel } from '../kernel/fake/kernel.js';
import type { TestSeam } from '../test-seam.js';
import { crashHookFromEnv, disabledSyncsFromEnv } from './crash-env.js';
import { dmMidpoint, realDmMidpoint } from './midpoints.js';
import { fakeRootRunner } from './exec-runner.js';

export function seamFromEnv(env: NodeJS.ProcessEnv): TestSeam | undefined {
  const fakePath = env.FLOW_FAKE_KERNEL;
  const crash = crashHookFromEnv(env);
  const disabledSyncs = disabledSyncsFromEnv(env);
  const workflowsDir = env.FLOW_WORKFLOWS_DIR || undefined;
  const binfmtDir = env.FLOW_BINFMT_DIR || undefined;
  if (!fakePath && !crash && !disabledSyncs && !workflowsDir && !binfmtDir) return undefined;
  let fake: FakeKernel | undefined;
  return {
    // the fake kernel's modules load only when a test asks for it
    openKernel: fakePath
      ? async () => (fake = await (await import('../kernel/fake/persisted.js')).openPersistedFakeKernel(fakePath, realFs))
      : undefined,
    crash,
    setKernelMidpoint: crash ? (fn) => (fake ? (fake.onPoint = dmMidpoint(fn)) : realDmMidpoint(fn)) : undefined,
    disabledSyncs,
    workflowsDir,
    binfmtDir,
    execRunner: fakePath ? fakeRootRunner : undefined,
  };
}
