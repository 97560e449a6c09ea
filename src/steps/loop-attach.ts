/**
 * loop.attach: `losetup --find --show`. Ownership: loop numbers are reused and a label
 * needs util-linux 2.40, so a loop is ours when it is bound to the intended backing file
 * (device + inode + offset + sizelimit) and was not among those bound to it before the
 * intent (recorded under the host-wide allocation lock).
 */
import { KernelError } from '../errors.js';
import { sameFile, type FileIdentity } from '../kernel/files.js';
import type { LoopInfo } from '../kernel/types.js';
import { line, str, type Executor, type StepEnv } from './types.js';

export interface LoopArgs extends Record<string, unknown> {
  file: string;
  identity: FileIdentity;
  readOnly: boolean;
  offset: number;
  sizeLimit: number;
}

const matches = (a: LoopArgs, b: { dev: string; ino: number }) => (l: LoopInfo) =>
  l.backingDev === b.dev && l.backingIno === b.ino && l.offset === a.offset && l.sizeLimit === a.sizeLimit;

/** The backing file as the kernel names it now: the recorded `dev` may be from an earlier boot. */
async function backing(a: LoopArgs, env: StepEnv): Promise<{ dev: string; ino: number }> {
  const st = await env.kernel.fs.stat(a.file).catch(() => null);
  return st && sameFile(st, a.identity) === 'same' ? { dev: st.dev, ino: st.ino } : a.identity;
}

const outputsOf = (l: LoopInfo) => ({ device: l.device, node: l.device, majmin: l.majmin, readOnly: l.readOnly });

async function candidates(a: LoopArgs, marker: Record<string, unknown>, env: StepEnv): Promise<LoopInfo[]> {
  const before = new Set((marker.before as string[] | undefined) ?? []);
  const b = await backing(a, env);
  return (await env.kernel.loop.list()).filter((l) => matches(a, b)(l) && !before.has(l.device));
}

export const loopAttach: Executor<LoopArgs> = {
  allocates: true,
  async observe(a, env) {
    return { before: (await env.kernel.loop.list()).filter(matches(a, await backing(a, env))).map((l) => l.device) };
  },
  async apply(a, _marker, env) {
    const st = await env.kernel.fs.stat(a.file);
    if (sameFile(st, a.identity) !== 'same') {
      throw new KernelError('EINVAL', `${a.file} is no longer the file the run was planned for (inode ${a.identity.dev}/${a.identity.ino}, now ${st.dev}/${st.ino})`);
    }
    const info = await env.kernel.loop.attach({ file: a.file, readOnly: a.readOnly, offset: a.offset || undefined, sizeLimit: a.sizeLimit || undefined });
    if (info.readOnly !== a.readOnly) {
      await env.kernel.loop.detach(info.device);
      throw new KernelError('EPERM', `${a.file} could only be attached read-only (losetup fell back); is the file or its filesystem read-only?`);
    }
    return outputsOf(info);
  },
  async probe(a, marker, outputs, env) {
    if (outputs) {
      const dev = str(outputs, 'device');
      const b = await backing(a, env);
      const l = (await env.kernel.loop.list()).find((x) => x.device === dev && matches(a, b)(x));
      return l ? { found: 'applied', outputs: outputsOf(l) } : { found: 'absent', detail: `${dev} is no longer bound to ${a.file}` };
    }
    const c = await candidates(a, marker, env);
    if (c.length === 0) return { found: 'absent' };
    if (c.length > 1) return { found: 'unknown', detail: `several new loop devices are bound to ${a.file}: ${c.map((l) => l.device).join(', ')}` };
    const l = c[0]!;
    if (l.readOnly !== a.readOnly) return { found: 'partial', detail: `${l.device} is bound ${l.readOnly ? 'read-only' : 'read-write'}` };
    return { found: 'applied', outputs: outputsOf(l) };
  },
  async clean(a, marker, env) {
    for (const l of await candidates(a, marker, env)) await env.kernel.loop.detach(l.device);
  },
  async undo(a, outputs, env) {
    const dev = str(outputs, 'device');
    // Loop numbers are reused: re-check the identity right before detaching.
    const b = await backing(a, env);
    const l = (await env.kernel.loop.list()).find((x) => x.device === dev && matches(a, b)(x));
    if (l) await env.kernel.loop.detach(dev);
  },
  commands(a, outputs) {
    const opts = [...(a.readOnly ? ['--read-only'] : []), ...(a.offset ? ['--offset', a.offset] : []), ...(a.sizeLimit ? ['--sizelimit', a.sizeLimit] : [])];
    return {
      apply: [line('losetup', '--find', '--show', ...opts, '--', a.file)],
      undo: [line('losetup', '-d', typeof outputs?.device === 'string' ? outputs.device : '<the loop device bound to ' + a.file + '>')],
    };
  },
};
