/**
 * dir.make: creates the missing directories of a mount point, top-down (the leaf must not
 * exist: the run only owns what it creates). Undo removes them bottom-up when empty; a
 * non-empty ancestor that other runs also use (/run/flow) is left in place. Runs started
 * at the same time all plan to make /run/flow: one makes it, the others find it there
 * (EEXIST on an ancestor is fine); after a reboot a run whose /run/flow another run had
 * made finds it gone and makes it again (not its own: never removed by it).
 */
import path from 'node:path';
import { KernelError } from '../errors.js';
import { hasCode } from '../fs/types.js';
import { line, type Executor, type StepEnv } from './types.js';

export interface DirArgs extends Record<string, unknown> {
  dirs: string[];
}

async function existing(dirs: string[], env: StepEnv): Promise<string[]> {
  const out: string[] = [];
  for (const d of dirs) {
    try {
      const st = await env.kernel.fs.lstat(d);
      if (st.kind !== 'dir') throw new KernelError('EEXIST', `${d} exists and is not a directory`);
      out.push(d);
    } catch (err) {
      if (!hasCode(err, 'ENOENT')) throw err;
    }
  }
  return out;
}

async function removeDirs(dirs: string[], env: StepEnv): Promise<void> {
  const present = await existing(dirs, env);
  const leaf = dirs[dirs.length - 1];
  for (const d of [...present].reverse()) {
    try {
      await env.kernel.fs.rmdir(d);
      await env.kernel.fs.syncDir(path.dirname(d));
    } catch (err) {
      if (hasCode(err, 'ENOTEMPTY', 'EEXIST')) {
        if (d === leaf) throw new KernelError('EBUSY', `${d} is not empty: something was left in the mount point`);
        continue; // a shared ancestor still in use by another run
      }
      if (hasCode(err, 'ENOENT') && d !== leaf) continue; // a shared ancestor another run's rollback removed meanwhile
      throw err;
    }
  }
}

/**
 * Makes the missing ancestors of the run's first directory: one another run had made
 * (/run/flow, shared) is gone after a reboot. They are not the run's: never removed by it.
 */
async function makeParents(dir: string, env: StepEnv): Promise<void> {
  const missing: string[] = [];
  for (let d = dir; (await existing([d], env)).length === 0; d = path.dirname(d)) {
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
  async apply(a, _m, env) {
    if (a.dirs[0]) await makeParents(path.dirname(a.dirs[0]), env);
    for (const [i, d] of a.dirs.entries()) {
      try {
        await env.kernel.fs.mkdir(d, 0o755);
      } catch (err) {
        // an ancestor shared with other runs (/run/flow) that another run made since the preflight
        if (!(i < a.dirs.length - 1 && hasCode(err, 'EEXIST') && (await existing([d], env)).length === 1)) throw err;
      }
      await env.kernel.fs.syncDir(path.dirname(d));
      env.midpoint();
    }
    return { dirs: a.dirs };
  },
  async probe(a, _m, _o, env) {
    const present = await existing(a.dirs, env);
    if (present.length === 0) return { found: 'absent' };
    if (present.length === a.dirs.length) return { found: 'applied', outputs: { dirs: a.dirs } };
    return { found: 'partial', detail: `only ${present.join(', ')} exist` };
  },
  clean: (a, _m, env) => removeDirs(a.dirs, env),
  undo: (a, _o, env) => removeDirs(a.dirs, env),
  commands(a) {
    return { apply: a.dirs.map((d) => line('mkdir', '--', d)), undo: [...a.dirs].reverse().map((d) => line('rmdir', '--', d)) };
  },
};
