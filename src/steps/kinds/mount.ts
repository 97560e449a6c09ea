/**
 * mount: `mount [-o opts] -- SOURCE TARGET`, or with `bind: true` `mount -o bind[,ro] --
 * DIR TARGET`. Probe by /proc/self/mountinfo:
 * - a device mount: a mount at TARGET whose filesystem lives on the source's major:minor
 *   (MountEntry.device: so btrfs, which reports an anonymous 0:N, is found too);
 * - a bind mount: a mount at TARGET of the source directory's filesystem (major:minor)
 *   whose root is the directory within it: target + source, never the target alone.
 * With `readOnly` a mount found read-write is partial: util-linux makes `bind,ro` with two
 * calls (bind, then remount read-only), so a crash between leaves a read-write bind;
 * clean unmounts it. Undo: umount, never lazy, and only when the mount at TARGET is still
 * the run's and nothing is mounted over it (umount would take the top one, somebody else's).
 */
import { posix } from 'node:path';
import { KernelError, UsageError } from '../../errors.js';
import type { MountEntry } from '../../kernel/types.js';
import { line, type Executor, type StepEnv } from '../types.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({
    source: z.string().describe('a block device, or (bind) a directory'),
    majmin: z.string().optional().describe("the device's major:minor (needed for a device; not for a bind mount)"),
    target: z.string().describe('the mount point'),
    options: z.array(z.string()).optional().describe('mount -o options'),
    readOnly: z.boolean().optional().describe('adds ro'),
    bind: z.boolean().optional().describe('a bind mount of the source directory'),
  }),
  outputs: z.strictObject({ target: z.string().describe('the mount point') }),
}));

export type MountArgs = z.infer<ReturnType<typeof schemas>['args']>;

/** Options as given to mount(8): bind and ro first, then the others. */
function optionsOf(a: MountArgs): string[] {
  const rest = (a.options ?? []).filter((o) => o !== 'bind' && o !== 'ro');
  return [...(a.bind ? ['bind'] : []), ...(a.readOnly || a.options?.includes('ro') ? ['ro'] : []), ...rest];
}

const under = (path: string, dir: string) => dir === '/' || path === dir || path.startsWith(`${dir}/`);

/**
 * What mountinfo shows for a bind mount of `dir`: the filesystem holding it (the last mount
 * at the longest target covering it) and the directory's path within that filesystem.
 */
function bindIdentity(mounts: MountEntry[], dir: string, dev: string): { majmin: string; root: string } {
  const m = mounts.filter((x) => under(dir, x.target)).sort((x, y) => y.target.length - x.target.length || y.id - x.id)[0];
  // on no listed mount (the fake kernel lists its own mounts only): the directory's own device
  if (!m) return { majmin: dev, root: dir };
  const rel = posix.relative(m.target, dir);
  return { majmin: m.majmin, root: rel === '' ? m.root : posix.join(m.root, rel) };
}

/** The run's mount at the target, and what is mounted over it (a mount at the same target whose parent it is). */
async function ours(a: MountArgs, env: StepEnv): Promise<{ mine?: MountEntry; over?: MountEntry }> {
  const all = await env.kernel.mounts.list();
  const at = all.filter((m) => m.target === a.target);
  let mine: MountEntry | undefined;
  if (a.bind) {
    const dir = await env.kernel.fs.realpath(a.source).catch(() => null);
    const st = dir === null ? null : await env.kernel.fs.stat(dir).catch(() => null);
    // the source's identity from the mounts other than the target's (a bind onto a
    // directory below its own source would otherwise be its own "filesystem")
    const id = dir === null || st === null ? null : bindIdentity(all.filter((m) => m.target !== a.target), dir, st.dev);
    mine = id ? at.find((m) => m.majmin === id.majmin && m.root === id.root) : undefined;
  } else {
    mine = at.find((m) => m.device === a.majmin);
  }
  return { mine, over: mine && at.find((m) => m.parentId === mine.id) };
}

export const mountStep: Executor<MountArgs> = {
  async apply(a, _m, env) {
    if (!a.bind && !a.majmin) throw new KernelError('EINVAL', `mount ${a.source}: majmin (the device's major:minor) is needed to find the mount again`);
    await env.kernel.mounts.mount({ source: a.source, target: a.target, options: optionsOf(a) });
    return { target: a.target };
  },
  async probe(a, _m, _o, env) {
    const { mine } = await ours(a, env);
    if (!mine) return { found: 'absent' };
    if (optionsOf(a).includes('ro') && !mine.options.includes('ro')) return { found: 'partial', detail: `${a.target} is mounted read-write; the run asked for read-only` };
    return { found: 'applied', outputs: { target: a.target } };
  },
  async clean(a, _m, env) {
    // only a read-write mount where read-only was asked for is ever partial
    const { mine, over } = await ours(a, env);
    if (!mine) return;
    if (over) throw new KernelError('EBUSY', `${a.target}: ${over.source} (${over.fstype}) is mounted over the run's mount; unmount it first (umount -- ${a.target})`);
    await env.kernel.mounts.umount(a.target);
  },
  async undo(a, _o, env) {
    const { mine, over } = await ours(a, env);
    if (!mine) return;
    if (over) throw new KernelError('EBUSY', `${a.target}: ${over.source} (${over.fstype}) is mounted over the run's mount; unmount it first (umount -- ${a.target})`);
    await env.kernel.mounts.umount(a.target);
  },
  commands(a) {
    const o = optionsOf(a);
    return {
      apply: [line('mount', ...(o.length ? ['-o', o.join(',')] : []), '--', a.source, a.target)],
      undo: [line('umount', '--', a.target)],
    };
  },
};

export const spec: KindSpec = defineKind({
  kind: 'mount',
  summary: 'mounts a device the run made (or, with bind, a directory) on a directory',
  durable: false,
  schemas,
  inverse: { undo: 'unmounts it when the mount there is still the run\'s (never lazy)' },
  // a mount over another would hide it, and the run's undo could not tell whose is whose
  refuses: 'a target something is mounted on already',
  preflight: async (a, env) => {
    if (typeof a.target !== 'string') return;
    const real = await env.kernel.fs.realpath(a.target).catch(() => null);
    if (real !== null && (await env.kernel.mounts.list()).some((m) => m.target === real)) {
      throw new UsageError(`${env.option('target')} ${a.target} is already a mount point`, `choose another directory (see findmnt ${real})`);
    }
  },
  midpoint: 'before',
  placeholders: (a) => ({ target: a.target }),
  show: { node: 'mountpoint', from: (a) => [typeof a.majmin === 'string' ? a.majmin : String(a.source)] },
  hostPaths: (a) => (a.bind === true ? [a.source, a.target].filter((p): p is string => typeof p === 'string') : []),
});
