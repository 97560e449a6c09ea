/**
 * zram.add: hot_add a zram device and size it (the snapshot's COW). zram has no name or
 * label, so the ids that existed before are recorded in the intent (under the host-wide
 * allocation lock): a new id afterwards is ours. Added but not sized (initstate 0) is
 * partial: cleaned by reset + hot_remove.
 */
import type { ZramInfo } from '../kernel/types.js';
import { line, num, type Executor, type StepEnv } from './types.js';

export interface ZramArgs extends Record<string, unknown> {
  disksize: number;
  algorithm?: string;
}

const outputsOf = (z: ZramInfo) => ({ id: z.id, device: z.device, node: z.device, majmin: z.majmin });

async function newIds(marker: Record<string, unknown>, env: StepEnv): Promise<ZramInfo[]> {
  const before = new Set((marker.before as number[] | undefined) ?? []);
  return (await env.kernel.zram.list()).filter((z) => !before.has(z.id));
}

async function removeZram(id: number, env: StepEnv): Promise<void> {
  if (!(await env.kernel.zram.list()).some((z) => z.id === id)) return;
  await env.kernel.zram.reset(id);
  await env.kernel.zram.remove(id);
}

export const zramAdd: Executor<ZramArgs> = {
  allocates: true,
  async observe(_a, env) {
    return { before: (await env.kernel.zram.list()).map((z) => z.id) };
  },
  async apply(a, _m, env) {
    const id = await env.kernel.zram.add();
    env.midpoint();
    await env.kernel.zram.configure(id, { disksize: a.disksize, algorithm: a.algorithm });
    const z = (await env.kernel.zram.list()).find((x) => x.id === id);
    if (!z) throw new Error(`zram${id} vanished after hot_add`);
    return outputsOf(z);
  },
  async probe(a, marker, outputs, env) {
    if (outputs) {
      const z = (await env.kernel.zram.list()).find((x) => x.id === num(outputs, 'id'));
      return z && z.initialized && z.disksize === a.disksize ? { found: 'applied', outputs: outputsOf(z) } : { found: 'absent' };
    }
    const c = await newIds(marker, env);
    if (c.length === 0) return { found: 'absent' };
    if (c.length > 1) return { found: 'unknown', detail: `several new zram devices: ${c.map((z) => z.device).join(', ')}` };
    const z = c[0]!;
    if (!z.initialized) return { found: 'partial', detail: `${z.device} was added but not sized` };
    if (z.disksize !== a.disksize) return { found: 'unknown', detail: `${z.device} has size ${z.disksize}, not ${a.disksize}: not ours?` };
    return { found: 'applied', outputs: outputsOf(z) };
  },
  async clean(_a, marker, env) {
    for (const z of await newIds(marker, env)) if (!z.initialized) await removeZram(z.id, env);
  },
  async undo(a, outputs, env) {
    // zram has no owner mark: a device with this id is ours only while it is still sized as
    // the run sized it (after ours went away, the id may be someone else's)
    const z = (await env.kernel.zram.list()).find((x) => x.id === num(outputs, 'id'));
    if (z && z.initialized && z.disksize === a.disksize) await removeZram(z.id, env);
  },
  commands(a, outputs) {
    const id = typeof outputs?.id === 'number' || typeof outputs?.id === 'string' ? outputs.id : 'N'; // a string: flow plan's placeholder
    return {
      apply: ['cat /sys/class/zram-control/hot_add', `echo ${a.disksize} > /sys/block/zram${id}/disksize`],
      undo: [`echo 1 > /sys/block/zram${id}/reset`, line('echo', String(id)) + ' > /sys/class/zram-control/hot_remove'],
    };
  },
};
