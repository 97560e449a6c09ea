/**
 * dir.make: creates the missing directories of a mount point, top-down (the leaf must not
 * exist: the run only owns what it creates). Undo removes them bottom-up when empty; a
 * non-empty ancestor that other runs also use (/run/flow) is left in place. Runs started
 * at the same time all plan to make /run/flow: one makes it, the others find it there
 * (EEXIST on an ancestor is fine, and that directory is not theirs); after a reboot a run
 * whose /run/flow another run had made finds it gone and makes it again (not its own:
 * never removed by it).
 *
 * Ownership: a directory is the run's only when the run's own mkdir made it. mkdir makes
 * it with mode 01700 (sticky, owner only: a mode no mount point is made with); when every
 * directory is made, each is stamped bottom-up (mtime = the stamp recorded in the intent,
 * then mode 0755) and fsynced; the outcome records their identities (inode + birth time).
 * So before the outcome a stamped directory is the run's, one with mode 01700 may be (a
 * crash between its mkdir and its stamp: flow asks the operator), any other is not; after
 * it, the identity decides. A directory someone else made is never removed.
 */
import path from 'node:path';
import { KernelError } from '../../errors.js';
import { describeIdentity, identityOf, sameFile, stampMs, statOrNull, type FileIdentity } from '../../kernel/files.js';
import { hasCode, type FsStat } from '../../fs/types.js';
import type { Json } from '../../../machines/types.js';
import { line, type Executor, type ProbeResult, type StepEnv } from '../types.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({ dirs: z.array(z.string()).describe("the directories to make, top-down (a directory param's create)") }),
  outputs: z.strictObject({
    dirs: z.array(z.string()).describe('the directories'),
    made: z.array(z.object({ path: z.string(), dev: z.string(), ino: z.int(), birth: z.string().optional() })).meta({ internal: true, description: 'the identities of those the run made' }),
  }),
}));

export type DirArgs = z.infer<ReturnType<typeof schemas>['args']>;

/** The mode of a directory between the run's mkdir and its stamp. */
const MAKING = 0o1700;
const FINAL = 0o755;

interface Made extends FileIdentity {
  path: string;
}

/** The stamps recorded in the intent, one per directory; undefined in older journals. */
function stampsOf(a: DirArgs, marker: Json): number[] | undefined {
  const s = marker.stamps;
  return Array.isArray(s) && s.length === a.dirs.length && s.every((x) => typeof x === 'number') ? (s as number[]) : undefined;
}

/** The directories the outcome recorded as made by the run; undefined in older journals ({dirs} only). */
function madeOf(outputs: Json | undefined): Made[] | undefined {
  const m = outputs?.made;
  return Array.isArray(m) ? (m as Made[]) : undefined;
}

type Whose = 'ours' | 'maybe' | 'not' | 'absent';

/** Before the outcome: whose is the directory at `dirs[i]`, by the attempt's stamps. */
function byStamp(st: FsStat | null, stamp: number): Whose {
  if (!st) return 'absent';
  if (st.kind !== 'dir') return 'not';
  if (st.mtimeMs === stamp) return 'ours';
  return st.mode === MAKING ? 'maybe' : 'not';
}

/** After the outcome: whose is the directory recorded as `m`. */
function byIdentity(st: FsStat | null, m: Made): Whose {
  if (!st) return 'absent';
  if (st.kind !== 'dir') return 'not';
  const same = sameFile(st, m);
  return same === 'same' ? 'ours' : same === 'other' ? 'not' : 'maybe';
}

/** rmdir of the run's own directories, bottom-up; a shared ancestor still in use stays. */
async function removeOwn(dirs: string[], leaf: string | undefined, env: StepEnv): Promise<void> {
  for (const d of [...dirs].reverse()) {
    try {
      await env.kernel.fs.rmdir(d);
      await env.kernel.fs.syncDir(path.dirname(d));
    } catch (err) {
      if (hasCode(err, 'ENOTEMPTY', 'EEXIST')) {
        if (d === leaf) throw new KernelError('EBUSY', `${d} is not empty: something was left in the mount point`);
        continue; // a shared ancestor still in use by another run
      }
      if (hasCode(err, 'ENOENT')) {
        await env.kernel.fs.syncDir(path.dirname(d)).catch(() => undefined);
        continue; // removed by an earlier attempt, or a shared ancestor another run's rollback removed meanwhile
      }
      throw err;
    }
  }
}

/** What is at each directory and whose it is (by identity when the outcome recorded it, else by stamp). */
async function survey(a: DirArgs, marker: Json, outputs: Json | undefined, env: StepEnv): Promise<{ d: string; st: FsStat | null; whose: Whose; covered?: Made }[]> {
  const made = madeOf(outputs);
  const stamps = stampsOf(a, marker);
  const out = [];
  for (const [i, d] of a.dirs.entries()) {
    const st = await statOrNull(env.kernel.fs, d);
    let whose: Whose;
    if (made) {
      const m = made.find((x) => x.path === d);
      // A filesystem mounted on the directory (the run's mount point, once mounted) hides it:
      // stat answers for the mounted root. Taken as the run's directory as recorded; nothing
      // is removed on that belief alone: rmdir of a mount point fails (EBUSY).
      const covered = st !== null && m !== undefined && (await statOrNull(env.kernel.fs, path.dirname(d)))?.dev !== st.dev;
      whose = !st ? 'absent' : m ? (covered ? 'ours' : byIdentity(st, m)) : 'not';
      if (covered) {
        out.push({ d, st, whose, covered: m });
        continue;
      }
    } else if (outputs) {
      whose = !st ? 'absent' : st.kind === 'dir' ? 'ours' : 'not'; // an outcome of an older flow: it made every listed directory
    } else if (stamps) {
      whose = byStamp(st, stamps[i]!);
    } else {
      whose = !st ? 'absent' : 'maybe'; // an intent of an older flow: no proof either way
    }
    out.push({ d, st, whose });
  }
  return out;
}

function ambiguity(rows: { d: string; whose: Whose }[]): string | undefined {
  const maybe = rows.filter((r) => r.whose === 'maybe').map((r) => r.d);
  if (maybe.length === 0) return undefined;
  return `flow cannot tell whether it made ${maybe.join(', ')} (a crash between its mkdir and its stamp, or someone else's directory): if they are the run's, remove them (rmdir), then resolve the step --as absent`;
}

/**
 * Makes the missing ancestors of the run's first directory: one another run had made
 * (/run/flow, shared) is gone after a reboot. They are not the run's: never removed by it.
 */
async function makeParents(dir: string, env: StepEnv): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; !(await statOrNull(env.kernel.fs, d)); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      await env.kernel.fs.mkdir(d, 0o755);
    } catch (err) {
      if (!hasCode(err, 'EEXIST')) throw err;
    }
    await env.kernel.fs.syncDir(path.dirname(d));
  }
}

export const dirMake: Executor<DirArgs> = {
  async observe(a) {
    return { stamps: a.dirs.map(() => stampMs()) };
  },
  async apply(a, marker, env) {
    const fs = env.kernel.fs;
    const stamps = stampsOf(a, marker);
    if (!stamps) throw new KernelError('EINVAL', `no stamps recorded for ${a.dirs.join(', ')}`);
    if (a.dirs[0]) await makeParents(path.dirname(a.dirs[0]), env);
    const made: { d: string; i: number }[] = [];
    try {
      for (const [i, d] of a.dirs.entries()) {
        try {
          await fs.mkdir(d, MAKING);
          made.push({ d, i });
        } catch (err) {
          if (!hasCode(err, 'EEXIST')) throw err;
          const st = await statOrNull(fs, d);
          // an ancestor shared with other runs (/run/flow) that another run made since the preflight: not the run's
          if (i === a.dirs.length - 1 || st?.kind !== 'dir') {
            throw new KernelError('EEXIST', `${d} exists: something else made it after the run was planned; flow leaves it untouched`);
          }
        }
        await fs.syncDir(path.dirname(d));
      }
      // bottom-up: making a child changes its parent's mtime; stamping one does not
      for (const { d, i } of [...made].reverse()) {
        await fs.setMtime(d, stamps[i]!);
        await fs.chmod(d, FINAL);
        await fs.syncDir(d);
      }
    } catch (err) {
      if (err instanceof Error && err.name === 'CrashSignal') throw err;
      // the directories this call made (and nothing else) go again, so a failed apply has no effect
      await removeOwn(made.map((m) => m.d), undefined, env).catch(() => undefined);
      throw err;
    }
    env.midpoint();
    const ids: Made[] = [];
    for (const { d } of made) ids.push({ path: d, ...identityOf(await fs.lstat(d)) });
    return { dirs: a.dirs, made: ids };
  },
  async probe(a, marker, outputs, env) {
    const rows = await survey(a, marker, outputs, env);
    const unsure = ambiguity(rows);
    if (unsure) return { found: 'unknown', detail: unsure };
    const ours = rows.filter((r) => r.whose === 'ours');
    const leaf = rows[rows.length - 1];
    if (ours.length === 0) {
      const foreign = rows.filter((r) => r.whose === 'not').map((r) => r.d);
      return foreign.length ? { found: 'absent', detail: `${foreign.join(', ')}: not made by this run (left untouched)` } : { found: 'absent' };
    }
    if (leaf?.whose === 'ours' && rows.every((r) => r.st?.kind === 'dir')) {
      return { found: 'applied', outputs: { dirs: a.dirs, made: ours.map((r) => r.covered ?? { path: r.d, ...identityOf(r.st!) }) } } satisfies ProbeResult;
    }
    return { found: 'partial', detail: `only ${ours.map((r) => r.d).join(', ')} made by this run exist` };
  },
  async clean(a, marker, env, outputs) {
    const rows = await survey(a, marker, outputs, env);
    const unsure = ambiguity(rows);
    if (unsure) throw new KernelError('EINVAL', unsure);
    await removeOwn(rows.filter((r) => r.whose === 'ours').map((r) => r.d), a.dirs[a.dirs.length - 1], env);
  },
  async undo(a, outputs, env) {
    const rows = await survey(a, {}, outputs, env);
    const maybe = rows.filter((r) => r.whose === 'maybe');
    if (maybe.length) {
      const m = madeOf(outputs)?.find((x) => x.path === maybe[0]!.d);
      throw new KernelError('EINVAL', `${maybe[0]!.d} has the inode the run recorded${m ? ` (${describeIdentity(m)})` : ''} but another device and no birth time: flow cannot tell whether it is the run's directory; left untouched`);
    }
    await removeOwn(rows.filter((r) => r.whose === 'ours').map((r) => r.d), a.dirs[a.dirs.length - 1], env);
  },
  commands(a) {
    return { apply: a.dirs.map((d) => line('mkdir', '--', d)), undo: [...a.dirs].reverse().map((d) => line('rmdir', '--', d)) };
  },
};

export const spec: KindSpec = defineKind({
  kind: 'dir.make',
  summary: "the missing directories of a mount point, top-down; the run owns only those its own mkdir made",
  durable: true,
  schemas,
  inverse: { undo: 'removes them bottom-up when empty (rmdir)' },
  midpoint: 'executor',
  placeholders: (a) => ({ dirs: a.dirs }),
});
