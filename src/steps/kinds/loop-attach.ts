/**
 * loop.attach: `losetup --find --show`.
 *
 * Identity. Loop numbers are reused and a label (`--loop-ref`) needs util-linux 2.40, but
 * the kernel gives a loop device a new diskseq (/sys/block/loopN/diskseq, Linux >= 5.15)
 * at every bind and every detach, never reused within a boot. So one binding is named
 * exactly by device + diskseq (+ the backing file's device, inode, offset and sizelimit):
 * - the intent records every loop bound to the intended file (device + diskseq), under
 *   the host-wide allocation lock: `seen`;
 * - the outcome records the device and its diskseq; probe and undo act only on that exact
 *   binding, re-read right before `losetup -d`.
 *
 * In doubt (intent without outcome). A binding of the intended file that is not in `seen`
 * appeared in the window: flow's, or another program's (`losetup -f` of the same image
 * picks the same lowest free device flow would, and takes no flow lock). No state the
 * kernel shows tells a crash right after our bind from a crash right before it while
 * someone else binds the file, so: no new binding → absent (exactly); any new binding →
 * flow stops for the operator with the commands to detach it if it is the run's, instead
 * of adopting or detaching it. Binding a device picked beforehand (`losetup -f`, then
 * `losetup /dev/loopN FILE`) would not help: the other program's `losetup -f` picks that
 * same device, and the split adds a race in which the run fails on EBUSY. Loops bound to
 * other files are never candidates. The window is the bind up to the outcome's fsync.
 *
 * Journals from before diskseq was recorded (marker `before`: devices only; outputs
 * without `diskseq`) are still read: such a marker's devices count as seen, such an outcome
 * is recognised by device + backing identity, as before.
 */
import { KernelError, UsageError } from '../../errors.js';
import { sameFile } from '../../kernel/files.js';
import type { LoopInfo } from '../../kernel/types.js';
import type { Json } from '../../../machines/types.js';
import { line, str, type Executor, type StepEnv } from '../types.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindPreflightEnv, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({
    file: z.string().describe('the backing file'),
    identity: z.object({ dev: z.string(), ino: z.int() }).describe("the file the run was planned on: an existing-file param's identity, or {dev, ino} of a file.create"),
    readOnly: z.boolean().optional().describe('default false (read-write; refused when losetup falls back to read-only)'),
    offset: z.int().optional().describe('bytes into the file; default 0'),
    sizeLimit: z.int().optional().describe('bytes from the offset; default 0 (to the end)'),
  }),
  outputs: z.strictObject({
    device: z.string().describe('the loop device (/dev/loopN)'),
    node: z.string().describe('its device node'),
    majmin: z.string().describe('its major:minor (for a dm table or a mount)'),
    readOnly: z.boolean().describe('bound read-only'),
    diskseq: z.int().meta({ internal: true, description: "the device's diskseq: which binding of the number is the run's" }),
  }),
}));

export type LoopArgs = z.infer<ReturnType<typeof schemas>['args']>;

/** The arguments with their defaults: what the binding is matched on. */
type Full = LoopArgs & { readOnly: boolean; offset: number; sizeLimit: number };
const full = (a: LoopArgs): Full => ({ ...a, readOnly: a.readOnly ?? false, offset: a.offset ?? 0, sizeLimit: a.sizeLimit ?? 0 });

const matches = (a: Full, b: { dev: string; ino: number }) => (l: LoopInfo) =>
  l.backingDev === b.dev && l.backingIno === b.ino && l.offset === a.offset && l.sizeLimit === a.sizeLimit;

/** The backing file as the kernel names it now: the recorded `dev` may be from an earlier boot. */
async function backing(a: LoopArgs, env: StepEnv): Promise<{ dev: string; ino: number }> {
  const st = await env.kernel.fs.stat(a.file).catch(() => null);
  return st && sameFile(st, a.identity) === 'same' ? { dev: st.dev, ino: st.ino } : a.identity;
}

const outputsOf = (l: LoopInfo) => ({ device: l.device, node: l.device, majmin: l.majmin, readOnly: l.readOnly, diskseq: l.diskseq });

/** The bindings of the file the intent saw: device + diskseq, or (an older journal) devices only. */
function seenOf(marker: Json): { device: string; diskseq?: number }[] {
  if (Array.isArray(marker.seen)) return (marker.seen as { device: string; diskseq: number }[]).map((s) => ({ device: s.device, diskseq: s.diskseq }));
  return ((marker.before as string[] | undefined) ?? []).map((device) => ({ device }));
}

/** Bindings of the intended file that did not exist when the intent was recorded. */
async function appeared(a: Full, marker: Json, env: StepEnv): Promise<LoopInfo[]> {
  const seen = seenOf(marker);
  const b = await backing(a, env);
  return (await env.kernel.loop.list()).filter((l) => matches(a, b)(l) && !seen.some((s) => s.device === l.device && (s.diskseq === undefined || s.diskseq === l.diskseq)));
}

/** The run's binding as its outcome names it; null when it is gone (or the device is bound anew). */
async function ours(a: Full, outputs: Json, env: StepEnv): Promise<LoopInfo | null> {
  const dev = str(outputs, 'device');
  const b = await backing(a, env);
  const l = (await env.kernel.loop.list()).find((x) => x.device === dev && matches(a, b)(x));
  if (!l) return null;
  // an outcome from before diskseq was recorded: device + backing identity, the old rule
  return typeof outputs.diskseq !== 'number' || l.diskseq === outputs.diskseq ? l : null;
}

const exact: Executor<Full> = {
  allocates: true,
  async observe(a, env) {
    return { seen: (await env.kernel.loop.list()).filter(matches(a, await backing(a, env))).map((l) => ({ device: l.device, diskseq: l.diskseq })) };
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
      const l = await ours(a, outputs, env);
      return l ? { found: 'applied', outputs: { ...outputs, ...outputsOf(l) } } : { found: 'absent', detail: `${str(outputs, 'device')} is no longer bound to ${a.file} by this run` };
    }
    const c = await appeared(a, marker, env);
    if (c.length === 0) return { found: 'absent' };
    const list = c.map((l) => `${l.device} (diskseq ${l.diskseq}, ${l.readOnly ? 'read-only' : 'read-write'}): ${line('losetup', '-d', l.device)}`);
    return {
      found: 'unknown',
      detail:
        `${a.file} was bound to a loop device while this step was in progress, and flow cannot tell whether it bound it or another program did: ` +
        `${list.join(' | ')}. Detach the one this run made (if any) with the command shown, then resolve the step as absent`,
      commands: c.map((l) => `${line('losetup', '-d', l.device)}   # only if ${l.device} (diskseq ${l.diskseq}) is this run's`),
    };
  },
  async clean(a, marker, env) {
    // a partial loop.attach is only ever recorded by older flow versions (a new binding of the
    // file, bound read-only instead of read-write); whose it is cannot be proven: the operator decides
    const c = await appeared(a, marker, env);
    if (c.length === 0) return;
    throw new Error(`cannot tell which of ${c.map((l) => `${l.device} (diskseq ${l.diskseq})`).join(', ')} this run bound to ${a.file}; detach it by hand: ${c.map((l) => line('losetup', '-d', l.device)).join(' | ')}`);
  },
  async undo(a, outputs, env) {
    // Loop numbers are reused: re-check the exact binding right before detaching.
    const l = await ours(a, outputs, env);
    if (l) await env.kernel.loop.detach(l.device);
  },
  commands(a, outputs) {
    const opts = [...(a.readOnly ? ['--read-only'] : []), ...(a.offset ? ['--offset', a.offset] : []), ...(a.sizeLimit ? ['--sizelimit', a.sizeLimit] : [])];
    return {
      apply: [line('losetup', '--find', '--show', ...opts, '--', a.file)],
      undo: [line('losetup', '-d', typeof outputs?.device === 'string' ? outputs.device : '<the loop device bound to ' + a.file + '>')],
    };
  },
};

/** loop.attach, its optional arguments defaulted before anything matches on them. */
export const loopAttach: Executor<LoopArgs> = {
  allocates: exact.allocates,
  observe: (a, env) => exact.observe!(full(a), env),
  apply: (a, m, env) => exact.apply(full(a), m, env),
  probe: (a, m, o, env) => exact.probe(full(a), m, o, env),
  clean: (a, m, env, o) => exact.clean(full(a), m, env, o),
  undo: (a, o, env) => exact.undo(full(a), o, env),
  commands: (a, o) => exact.commands(full(a), o),
};


/**
 * A read-write binding of a file some loop device already uses: two writers would corrupt
 * it. (A file the run creates does not exist yet: nothing to refuse.)
 */
async function refuseInUse(a: Json, env: KindPreflightEnv): Promise<void> {
  if (a.readOnly === true || typeof a.file !== 'string') return;
  const st = await env.kernel.fs.stat(a.file).catch(() => null);
  if (!st) return;
  const busy = (await env.kernel.loop.list()).find((l) => l.backingDev === st.dev && l.backingIno === st.ino);
  if (busy) throw new UsageError(`${env.option('file')} ${a.file} is already attached at ${busy.device}`, `detach it first (losetup -d ${busy.device})`);
}

export const spec: KindSpec = defineKind({
  kind: 'loop.attach',
  summary: 'binds a file to a free loop device (losetup --find); the binding is named by device and diskseq',
  durable: false,
  schemas,
  inverse: { undo: 'detaches exactly that binding (losetup -d)' },
  refuses: 'a read-write binding of a file some loop device already uses',
  preflight: refuseInUse,
  midpoint: 'before',
  placeholders: (a, p) => ({ device: p('loop device'), node: p('loop device'), majmin: p('loop major:minor'), readOnly: a.readOnly }),
  show: { node: 'loop', from: (a) => (typeof a.file === 'string' ? [a.file] : []) },
  unmarked: { operatorWindow: ['command-done', 'outcome-appended'] },
});
