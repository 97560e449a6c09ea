/**
 * mount: `mount [-o opts] -- SOURCE TARGET`. Probe by /proc/self/mountinfo, matching the
 * target and the source's major:minor (not the source string). Undo: umount, never lazy,
 * and only when the mount at TARGET is still of our device.
 */
import type { MountEntry } from '../kernel/types.js';
import { line, type Executor, type StepEnv } from './types.js';

export interface MountArgs extends Record<string, unknown> {
  source: string;
  majmin: string;
  target: string;
  options: string[];
}

async function ours(a: MountArgs, env: StepEnv): Promise<MountEntry | undefined> {
  return (await env.kernel.mounts.list()).find((m) => m.target === a.target && m.majmin === a.majmin);
}

export const mountStep: Executor<MountArgs> = {
  async apply(a, _m, env) {
    await env.kernel.mounts.mount({ source: a.source, target: a.target, options: a.options });
    return { target: a.target };
  },
  async probe(a, _m, _o, env) {
    return (await ours(a, env)) ? { found: 'applied', outputs: { target: a.target } } : { found: 'absent' };
  },
  async clean() {
    // mounting is atomic: never partial
  },
  async undo(a, _o, env) {
    if (await ours(a, env)) await env.kernel.mounts.umount(a.target);
  },
  commands(a) {
    return {
      apply: [line('mount', ...(a.options.length ? ['-o', a.options.join(',')] : []), '--', a.source, a.target)],
      undo: [line('umount', '--', a.target)],
    };
  },
};
