/**
 * The kernel alone, for `flow plan`: unlike openApp it opens no state directory (a plan
 * records nothing and creates no file), and it is only read.
 */
import { realFs } from '../../fs/real.js';
import { openPersistedFakeKernel } from '../../kernel/fake/persisted.js';
import { createRealKernel } from '../../kernel/real/index.js';
import type { Kernel } from '../../kernel/types.js';

export async function openKernel(env: NodeJS.ProcessEnv = process.env): Promise<{ kernel: Kernel; runDir: string }> {
  const fake = env.FLOW_FAKE_KERNEL; // test only, as in app.ts
  const kernel = fake ? await openPersistedFakeKernel(fake, realFs) : createRealKernel(realFs);
  return { kernel, runDir: env.FLOW_RUN_DIR ?? '/run/flow' };
}
