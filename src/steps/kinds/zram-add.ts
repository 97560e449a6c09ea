/**
 * zram.add: hot_add a zram device and size it (the snapshot's COW).
 *
 * Identity. zram has no name or label, but the kernel gives every new disk a diskseq
 * (/sys/block/zramN/diskseq, Linux >= 5.15) that it never reuses within a boot; sizing
 * and reset keep it. So a zram device is named exactly by id + diskseq:
 * - the intent records every zram device that exists (id + diskseq, under the host-wide
 *   allocation lock, so no other flow process adds one in between): `seen`;
 * - the outcome records the id hot_add returned and its diskseq; probe and undo act only
 *   on a device with that id AND that diskseq, never on the id alone or on its size (after
 *   ours went away, the id is the next hot_add's, whoever's it is).
 *
 * In doubt (intent without outcome). A device that is not in `seen` appeared in the
 * window; flow may have made it, or another program may have (that program does not take
 * flow's lock). Nothing the kernel shows tells the two apart: a crash right after our
 * hot_add and a crash right before it while someone else hot_adds leave the very same
 * host (one new zram device, whatever its size). So: no new device → the hot_add never
 * happened (absent, exactly); any new device → flow stops for the operator, naming each
 * device and the commands to remove it if it is the run's, rather than adopt, clean or
 * resize a device that may not be its own. The window is the hot_add and the sizing up to
 * the outcome's fsync; a crash anywhere else is settled exactly.
 *
 * Journals from before diskseq was recorded (marker `before`: ids only; outputs without
 * `diskseq`) are still read: the marker's ids count as seen, and such an outcome is
 * recognised by the old rule (same id, sized as the run sized it).
 */
import type { ZramInfo } from '../../kernel/types.js';
import type { Json } from '../../../machines/types.js';
import { line, num, type Executor, type StepEnv } from '../types.js';
import { UsageError } from '../../errors.js';
import { formatSize } from '../../preflight/values.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({ disksize: z.int().describe('its size in bytes'), algorithm: z.string().optional().describe("the compression algorithm (default: the kernel's)") }),
  outputs: z.strictObject({
    id: z.int().describe('N of /dev/zramN'),
    device: z.string().describe('/dev/zramN'),
    node: z.string().describe('its device node'),
    majmin: z.string().describe('its major:minor'),
    diskseq: z.int().meta({ internal: true, description: "the device's diskseq: which binding of the number is the run's" }),
  }),
}));

export type ZramArgs = z.infer<ReturnType<typeof schemas>['args']>;

const outputsOf = (z: ZramInfo) => ({ id: z.id, device: z.device, node: z.device, majmin: z.majmin, diskseq: z.diskseq });

/** The zram devices the intent saw: id + diskseq, or (an older journal) ids only. */
function seenOf(marker: Json): { id: number; diskseq?: number }[] {
  if (Array.isArray(marker.seen)) return (marker.seen as { id: number; diskseq: number }[]).map((s) => ({ id: s.id, diskseq: s.diskseq }));
  return ((marker.before as number[] | undefined) ?? []).map((id) => ({ id }));
}

/** Devices that did not exist when the intent was recorded. */
async function appeared(marker: Json, env: StepEnv): Promise<ZramInfo[]> {
  const seen = seenOf(marker);
  return (await env.kernel.zram.list()).filter((z) => !seen.some((s) => s.id === z.id && (s.diskseq === undefined || s.diskseq === z.diskseq)));
}

/** The run's device as its outcome names it; null when it is gone (or the id is someone else's now). */
async function ours(a: ZramArgs, outputs: Json, env: StepEnv): Promise<ZramInfo | null> {
  const id = num(outputs, 'id');
  const z = (await env.kernel.zram.list()).find((x) => x.id === id);
  if (!z) return null;
  if (typeof outputs.diskseq === 'number') return z.diskseq === outputs.diskseq ? z : null;
  // an outcome from before diskseq was recorded: the old rule, ours while sized as the run sized it
  return z.initialized && z.disksize === a.disksize ? z : null;
}

async function removeZram(z: ZramInfo, env: StepEnv): Promise<void> {
  await env.kernel.zram.reset(z.id);
  await env.kernel.zram.remove(z.id);
}

function byHand(z: ZramInfo): string[] {
  return [`echo 1 > /sys/block/zram${z.id}/reset`, `echo ${z.id} > /sys/class/zram-control/hot_remove`];
}

export const zramAdd: Executor<ZramArgs> = {
  allocates: true,
  async observe(_a, env) {
    return { seen: (await env.kernel.zram.list()).map((z) => ({ id: z.id, diskseq: z.diskseq })) };
  },
  async apply(a, _m, env) {
    const id = await env.kernel.zram.add();
    // hot_add returned the id: this device is ours, identified by its diskseq from here on
    const made = (await env.kernel.zram.list()).find((x) => x.id === id);
    if (!made) throw new Error(`zram${id} vanished after hot_add`);
    env.midpoint();
    try {
      await env.kernel.zram.configure(id, { disksize: a.disksize, algorithm: a.algorithm });
    } catch (err) {
      // a failed step leaves no effect: remove the device we just added (exactly that one)
      const still = (await env.kernel.zram.list()).find((x) => x.id === id && x.diskseq === made.diskseq);
      if (still) await removeZram(still, env);
      throw err;
    }
    const z = (await env.kernel.zram.list()).find((x) => x.id === id && x.diskseq === made.diskseq);
    if (!z) throw new Error(`zram${id} (diskseq ${made.diskseq}) vanished while flow sized it`);
    return outputsOf(z);
  },
  async probe(a, marker, outputs, env) {
    if (outputs) {
      // only an undo in doubt gets here: the device is still ours (even if its reset already ran), undo it again
      const z = await ours(a, outputs, env);
      return z ? { found: 'applied', outputs: { ...outputs, ...outputsOf(z) } } : { found: 'absent' };
    }
    const c = await appeared(marker, env);
    if (c.length === 0) return { found: 'absent' };
    const list = c.map((z) => `${z.device} (diskseq ${z.diskseq}, ${z.initialized ? `${z.disksize} bytes` : 'not sized'}): ${byHand(z).join('; ')}`);
    return {
      found: 'unknown',
      detail:
        `zram devices appeared while this step was in progress and zram has no owner mark, so flow cannot tell whether it made them or another program did: ` +
        `${list.join(' | ')}. Remove the one this run made (if any) with the commands shown, then resolve the step as absent`,
      commands: c.flatMap((z) => byHand(z).map((cmd) => `${cmd}   # only if ${z.device} (diskseq ${z.diskseq}) is this run's`)),
    };
  },
  async clean(_a, marker, env) {
    // a partial zram.add is only ever recorded by older flow versions (a new uninitialised id);
    // which device that was cannot be proven, so leave it to the operator
    const c = await appeared(marker, env);
    if (c.length === 0) return;
    throw new Error(`cannot tell which of ${c.map((z) => `${z.device} (diskseq ${z.diskseq})`).join(', ')} this run added; remove it by hand: ${c.map((z) => byHand(z).join('; ')).join(' | ')}`);
  },
  async undo(a, outputs, env) {
    const z = await ours(a, outputs, env);
    if (z) await removeZram(z, env);
  },
  commands(a, outputs) {
    const id = typeof outputs?.id === 'number' || typeof outputs?.id === 'string' ? outputs.id : 'N'; // a string: flow plan's placeholder
    return {
      apply: ['cat /sys/class/zram-control/hot_add', `echo ${a.disksize} > /sys/block/zram${id}/disksize`],
      undo: [`echo 1 > /sys/block/zram${id}/reset`, line('echo', String(id)) + ' > /sys/class/zram-control/hot_remove'],
    };
  },
};

export const spec: KindSpec = defineKind({
  kind: 'zram.add',
  summary: 'a new zram device (compressed RAM) of a size; named by id and diskseq',
  durable: false,
  schemas,
  inverse: { undo: 'resets and removes exactly that device (hot_remove)' },
  // a zram device lives in RAM: one larger than the machine's memory cannot hold what it is given
  refuses: "a size larger than the machine's memory",
  preflight: async (a, env) => {
    if (typeof a.disksize !== 'number') return;
    const mem = await env.kernel.system.memTotal();
    if (a.disksize > mem) throw new UsageError(`${env.option('disksize')} ${formatSize(a.disksize)} is larger than this machine's memory (${formatSize(mem)})`, 'a zram device lives in RAM: choose a smaller size');
  },
  midpoint: 'executor',
  placeholders: (_a, p) => ({ id: p('id'), device: p('zram device'), node: p('zram device'), majmin: p('zram major:minor') }),
  show: { node: 'zram', from: () => [] },
  // its command-running point fires after the hot_add: the device exists from there on
  unmarked: { operatorWindow: ['command-running', 'command-done', 'outcome-appended'] },
});
