/**
 * dm.create: `dmsetup create -v --concise NAME,FLOW-<id>-<step>,,,TABLE` (the table in argv:
 * a dmsetup whose flow was killed never waits on stdin for it). The UUID
 * is the ownership marker (the kernel never changes it); a device is "applied" only with
 * that UUID, a live table equal to the intended one, and not suspended. A device that
 * holds the name without a live table (a crash between create, load and resume), with
 * another table, or suspended, is partial: cleaned by resume + remove, then recreated.
 */
import { conciseSpec, normalizeTableLine, tablesEqual } from '../../kernel/parse/dm-table.js';
import { UsageError } from '../../errors.js';
import type { DmInfo, Kernel } from '../../kernel/types.js';
import { line, type Executor, type StepEnv } from '../types.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({
    name: z.string().describe('the device name (/dev/mapper/NAME)'),
    uuid: z.string().meta({ added: true, description: "the run's ownership UUID FLOW-<run id>-<step>" }),
    table: z
      .array(z.string())
      .meta({ shown: 'list of segments', description: 'segments: target (linear, zero, error, delay, flakey, snapshot, snapshot-origin), sectors and its typed fields; see docs/WORKFLOWS.md' }),
  }),
  outputs: z.strictObject({
    name: z.string().describe('the device name'),
    device: z.string().describe('/dev/mapper/NAME'),
    node: z.string().describe('its device node (/dev/dm-N)'),
    majmin: z.string().describe('its major:minor'),
  }),
}));

export type DmArgs = z.infer<ReturnType<typeof schemas>['args']>;

const outputsOf = (d: DmInfo) => ({ name: d.name, device: `/dev/mapper/${d.name}`, node: `/dev/dm-${d.minor}`, majmin: `${d.major}:${d.minor}` });

async function byUuid(uuid: string, env: StepEnv): Promise<DmInfo | undefined> {
  return (await env.kernel.dm.list()).find((d) => d.uuid === uuid);
}

async function removeOwned(uuid: string, env: StepEnv): Promise<void> {
  const d = await byUuid(uuid, env);
  if (!d) return;
  if (d.suspended) await env.kernel.dm.resume(d.name);
  await env.kernel.dm.remove(uuid);
}

export const dmCreate: Executor<DmArgs> = {
  async apply(a, _m, env) {
    return outputsOf(await env.kernel.dm.create({ name: a.name, uuid: a.uuid, table: a.table }));
  },
  async probe(a, _m, _outputs, env) {
    const d = await byUuid(a.uuid, env);
    if (!d) return { found: 'absent' };
    if (!d.live) return { found: 'partial', detail: `${d.name} exists without a live table (attr ${d.attr})` };
    const table = await env.kernel.dm.table(d.name);
    if (!tablesEqual(table, a.table)) return { found: 'partial', detail: `${d.name} has another table: ${table.join(' | ')}` };
    if (d.suspended) return { found: 'partial', detail: `${d.name} is suspended` };
    return { found: 'applied', outputs: outputsOf(d) };
  },
  async clean(a, _m, env) {
    await removeOwned(a.uuid, env);
  },
  async undo(a, _o, env) {
    await removeOwned(a.uuid, env);
  },
  commands(a) {
    return {
      apply: [line('dmsetup', 'create', '-v', '--concise', conciseSpec(a.name, a.uuid, a.table.map(normalizeTableLine)))],
      undo: [line('dmsetup', 'remove', '--retry', '-u', a.uuid)],
    };
  },
};

/** Refuses a device-mapper name some device (the run's own or not) holds; `option` names where it came from (`--name`). */
export async function refuseNameTaken(k: Kernel, option: string, name: string): Promise<void> {
  const d = await k.dm.info(name);
  if (d) {
    throw new UsageError(`${option}: a device-mapper device named ${name} already exists${d.uuid ? ` (uuid ${d.uuid})` : ''}`, `choose another ${option.startsWith('--') ? option : 'name'}, or remove that device if it is yours`);
  }
}

export const spec: KindSpec = defineKind({
  kind: 'dm.create',
  summary: 'a device-mapper device from a table of segments, owned by its UUID `FLOW-<run id>-<step>`',
  durable: false,
  schemas,
  inverse: { undo: 'removes the device with the run\'s UUID (dmsetup remove)' },
  midpoint: 'kernel',
  placeholders: (a, p) => ({ name: a.name, device: `/dev/mapper/${String(a.name)}`, node: p('dm node'), majmin: p('dm major:minor') }),
  // the devices its table names: major:minor after the target (linear, delay, flakey, snapshot origin and COW, ...),
  // or, for a step not run yet, the placeholder `flow plan` gives a device not made yet ("<zram major:minor of add-cow>")
  refuses: 'a name another device holds',
  preflight: async (a, env) => refuseNameTaken(env.kernel, env.option('name'), String(a.name)),
  show: { node: 'dm', from: (a) => (Array.isArray(a.table) ? a.table.flatMap((l) => String(l).match(/<[^<>]+ of [^<>]+>|(?<=^|\s)\d+:\d+(?=\s|$)/g) ?? []) : []), marked: true },
});
