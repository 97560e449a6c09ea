/**
 * file.create: a new backing file (O_EXCL, 0600, fsynced with its directory, so it
 * survives a power cut). The run owns the name it claimed in the intent (the file did not
 * exist when the run was planned); undo removes it only if it is still the same inode.
 */
import { KernelError } from '../errors.js';
import { createBackingFile, removeOwnedFile } from '../kernel/files.js';
import { hasCode } from '../fs/types.js';
import { line, num, str, type Executor } from './types.js';

export interface FileArgs extends Record<string, unknown> {
  path: string;
  size: number;
}

export const fileCreate: Executor<FileArgs> = {
  async apply(a, _m, env) {
    env.midpoint();
    const id = await createBackingFile(env.kernel.fs, a.path, a.size);
    return { path: a.path, dev: id.dev, ino: id.ino };
  },
  async probe(a, _m, outputs, env) {
    let st;
    try {
      st = await env.kernel.fs.lstat(a.path);
    } catch (err) {
      if (hasCode(err, 'ENOENT')) return { found: 'absent' };
      throw err;
    }
    if (st.kind !== 'file') return { found: 'unknown', detail: `${a.path} is a ${st.kind}, not the file the run creates` };
    if (outputs && (st.dev !== str(outputs, 'dev') || st.ino !== num(outputs, 'ino'))) {
      return { found: 'unknown', detail: `${a.path} is another file than the one the run created` };
    }
    if (st.size !== a.size) return { found: 'partial', detail: `${a.path} has ${st.size} bytes, not ${a.size}` };
    return { found: 'applied', outputs: { path: a.path, dev: st.dev, ino: st.ino } };
  },
  async clean(a, _m, env) {
    const st = await env.kernel.fs.lstat(a.path).catch(() => undefined);
    if (!st) return;
    if (st.kind !== 'file') throw new KernelError('EINVAL', `${a.path} is not a regular file; not removing it`);
    await removeOwnedFile(env.kernel.fs, a.path, { dev: st.dev, ino: st.ino });
  },
  async undo(a, outputs, env) {
    await removeOwnedFile(env.kernel.fs, a.path, { dev: str(outputs, 'dev'), ino: num(outputs, 'ino') });
  },
  commands(a) {
    return { apply: [line('truncate', '-s', a.size, '--', a.path)], undo: [line('rm', '--', a.path)] };
  },
};
