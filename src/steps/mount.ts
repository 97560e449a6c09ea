/**
 * mount: `mount [-o opts] -- SOURCE TARGET`. Probe by /proc/self/mountinfo: a mount at
 * TARGET whose filesystem lives on the source's major:minor (MountEntry.device: so btrfs,
 * which reports an anonymous 0:N, is found too). Undo: umount, never lazy, and only when
 * the mount at TARGET is still of our device and nothing is mounted over it (umount would
 * take the top one, somebody else's).
 */
import { KernelError } from '../errors.js';
import type { MountEntry } from '../kernel/types.js';
import { line, type Executor, type StepEnv } from './types.js';

export interface MountArgs extends Record<string, unknown> {
  source: string;
  majmin: string;
  target: string;
  options: string[];
}

/** The run's mount at the target, and what is mounted over it (a mount at the same target whose parent it is). */
async function ours(a: MountArgs, env: StepEnv): Promise<{ mine?: MountEntry; over?: MountEntry }> {
  const at = (await env.kernel.mounts.list()).filter((m) => m.target === a.target);
  const mine = at.find((m) => m.device === a.majmin);
  return { mine, over: mine && at.find((m) => m.parentId === mine.id) };
}

export const mountStep: Executor<MountArgs> = {
  async apply(a, _m, env) {
    await env.kernel.mounts.mount({ source: a.source, target: a.target, options: a.options });
    return { target: a.target };
  },
  async probe(a, _m, _o, env) {
    return (await ours(a, env)).mine ? { found: 'applied', outputs: { target: a.target } } : { found: 'absent' };
  },
  async clean() {
    // mounting is atomic: never partial
  },
  async undo(a, _o, env) {
    const { mine, over } = await ours(a, env);
    if (!mine) return;
    if (over) throw new KernelError('EBUSY', `${a.target}: ${over.source} (${over.fstype}) is mounted over the run's mount; unmount it first (umount -- ${a.target})`);
    await env.kernel.mounts.umount(a.target);
  },
  commands(a) {
    return {
      apply: [line('mount', ...(a.options.length ? ['-o', a.options.join(',')] : []), '--', a.source, a.target)],
      undo: [line('umount', '--', a.target)],
    };
  },
};
