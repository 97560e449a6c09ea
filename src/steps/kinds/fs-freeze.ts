/**
 * fs.freeze: `fsfreeze -f -- TARGET` (FIFREEZE) blocks writes to a mounted filesystem and
 * leaves it consistent on its device (ext4: journal checkpointed, needs_recovery cleared),
 * so a copy of the device is clean; undo is `fsfreeze -u -- TARGET`. The kernel shows a
 * frozen state nowhere (not in mountinfo): a recorded intent is settled by freezing again
 * (EBUSY: frozen already) while the mount is there, and undo treats "not frozen" (EINVAL) as done. A filesystem another
 * program froze (EBUSY) is recorded as such (`frozenBefore`) and never thawed by flow.
 * Not durable: a reboot thaws (a filesystem is mounted afresh).
 */
import { KernelError } from '../../errors.js';
import { line, type Executor } from '../types.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({ target: z.string().describe('where the filesystem is mounted') }),
  outputs: z.strictObject({
    target: z.string().describe('the mount point'),
    frozenBefore: z.boolean().describe('another program had frozen it already (EBUSY): rollback leaves it frozen'),
  }),
}));

export type FreezeArgs = z.infer<ReturnType<typeof schemas>['args']>;

/** The mount at the target, as mountinfo names it (canonical path). */
async function mounted(target: string, kernel: Parameters<Executor['apply']>[2]['kernel']): Promise<boolean> {
  const real = await kernel.fs.realpath(target).catch(() => target);
  return (await kernel.mounts.list()).some((m) => m.target === real);
}

export const fsFreeze: Executor<FreezeArgs> = {
  async apply(a, _m, env) {
    try {
      await env.kernel.filesystems.freeze(a.target);
    } catch (err) {
      // frozen already: another program's freeze, which is its to thaw
      if (err instanceof KernelError && err.code === 'EBUSY') return { target: a.target, frozenBefore: true };
      throw err;
    }
    return { target: a.target, frozenBefore: false };
  },
  // Frozen or not cannot be read. While the mount is there, the probe makes the begun step
  // whole: it freezes again (EBUSY: the apply it settles had frozen it), so a resumed run
  // copies a frozen filesystem (a crash before fsfreeze ran had left it writable), and a
  // rollback's thaw undoes exactly the one freeze. flow verify export-temp finds the old
  // "applied while mounted" probe out (a resume ended done with nothing frozen).
  async probe(a, _m, _o, env) {
    if (!(await mounted(a.target, env.kernel))) return { found: 'absent', detail: `nothing is mounted at ${a.target}` };
    try {
      await env.kernel.filesystems.freeze(a.target);
    } catch (err) {
      if (!(err instanceof KernelError && err.code === 'EBUSY')) throw err;
    }
    return { found: 'applied', outputs: { target: a.target, frozenBefore: false } };
  },
  clean: async () => undefined,
  async undo(a, o, env) {
    if (o.frozenBefore === true) return;
    // the mount gone: nothing of it is frozen any more (fsfreeze would act on the filesystem below)
    if (!(await mounted(a.target, env.kernel))) return;
    try {
      await env.kernel.filesystems.thaw(a.target);
    } catch (err) {
      // "Invalid argument": not frozen (never was, or thawed already)
      if (!(err instanceof KernelError && err.code === 'EINVAL')) throw err;
    }
  },
  commands: (a) => ({ apply: [line('fsfreeze', '-f', '--', a.target)], undo: [line('fsfreeze', '-u', '--', a.target)] }),
};

export const spec: KindSpec = defineKind({
  kind: 'fs.freeze',
  summary: 'freezes a mounted filesystem (fsfreeze -f): flushed and consistent on its device, writes blocked until thawed',
  durable: false,
  schemas,
  inverse: {
    undo:
      'thaws it (fsfreeze -u), unless another program had frozen it; the kernel shows no frozen state, so a step begun is settled by freezing again (EBUSY: frozen already) while the mount is there, and "not frozen" counts as thawed',
  },
  midpoint: 'before',
  placeholders: (a) => ({ target: a.target, frozenBefore: false }),
});
