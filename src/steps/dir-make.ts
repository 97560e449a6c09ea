/**
 * dir.make: creates the missing directories of a mount point, top-down (each must not
 * exist: the run only owns what it creates). Undo removes them bottom-up when empty; a
 * non-empty ancestor that other runs also use (/run/flow) is left in place.
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
      throw err;
    }
  }
}

export const dirMake: Executor<DirArgs> = {
  async apply(a, _m, env) {
    for (const d of a.dirs) {
      await env.kernel.fs.mkdir(d, 0o755);
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
