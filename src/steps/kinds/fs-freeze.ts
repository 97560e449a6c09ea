/**
 * fs.freeze: `fsfreeze -f -- TARGET` (FIFREEZE) blocks writes to a mounted filesystem and
 * leaves it consistent on its device (ext4: journal checkpointed, needs_recovery cleared),
 * so a copy of the device is clean; undo is `fsfreeze -u -- TARGET`. The kernel shows a
 * frozen state nowhere (not in mountinfo): a recorded intent probes as applied while the
 * mount is there, and undo treats "not frozen" (EINVAL) as done. A filesystem another
 * program froze (EBUSY) is recorded as such (`frozenBefore`) and never thawed by flow.
 * Not durable: a reboot thaws (a filesystem is mounted afresh).
 */
import { KernelError } from '../../errors.js';
import { line, type Executor } from '../types.js';
import { T } from '../../workflow/evaluate.js';
import type { KindSpec } from './spec.js';

export interface FreezeArgs extends Record<string, unknown> {
  target: string;
}

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
  // frozen or not cannot be read: while the mount is there, treat the step as applied (undo is idempotent)
  async probe(a, _m, _o, env) {
    return (await mounted(a.target, env.kernel)) ? { found: 'applied', outputs: { target: a.target, frozenBefore: false } } : { found: 'absent', detail: `nothing is mounted at ${a.target}` };
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

export const spec: KindSpec = {
  kind: 'fs.freeze',
  summary: 'freezes a mounted filesystem (fsfreeze -f): flushed and consistent on its device, writes blocked until thawed',
  durable: false,
  args: { target: { ty: T.string, doc: 'where the filesystem is mounted' } },
  outputs: { target: T.string, frozenBefore: T.bool },
  outputDocs: { target: 'the mount point', frozenBefore: 'another program had frozen it already (EBUSY): rollback leaves it frozen' },
  inverse: {
    undo:
      'thaws it (fsfreeze -u), unless another program had frozen it; the kernel shows no frozen state, so a step begun is taken as applied while the mount is there, and "not frozen" counts as thawed',
  },
  midpoint: 'before',
  placeholders: (a) => ({ target: a.target, frozenBefore: false }),
};
