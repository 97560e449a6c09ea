/**
 * The state directory: `runs/<id>.json` (one document per run), `index.json` (a cache),
 * `locks/` (flock files). Created 0700; refused when it is a symlink, not a directory,
 * owned by another user, or writable by group or others.
 */
import path from 'node:path';
import { StateDirError } from '../src/errors.js';
import { hasCode } from '../src/fs/types.js';
import { maybeSync, type JournalContext } from './durability.js';

export interface StateDirLayout {
  root: string;
  runs: string;
  locks: string;
  index: string;
}

export function layout(root: string): StateDirLayout {
  return { root, runs: path.join(root, 'runs'), locks: path.join(root, 'locks'), index: path.join(root, 'index.json') };
}

/** Checks (and creates when missing) the state directory and its subdirectories. */
export async function ensureStateDir(ctx: JournalContext, root: string, uid: number): Promise<StateDirLayout> {
  checkStateDirPath(root);
  const l = layout(root);
  for (const dir of [l.root, l.runs, l.locks]) await ensureDir(ctx, dir, uid, dir === l.root);
  return l;
}

/**
 * The path itself: not empty (path.join('', 'runs') would put the journals in the current
 * directory), no control characters (a newline in a path printed in a message or a hint
 * would forge a line), not absurdly long.
 */
export function checkStateDirPath(root: string): void {
  if (root.length === 0) throw new StateDirError('--state-dir is empty', 'give a directory (the default is /var/lib/flow), or unset FLOW_STATE_DIR');
  if (/[\x00-\x1f\x7f]/.test(root)) throw new StateDirError(`--state-dir ${JSON.stringify(root)} contains control characters (newline, tab, ...)`, 'choose another --state-dir (or FLOW_STATE_DIR)');
  if (root.length > 4000) throw new StateDirError(`--state-dir is too long (${root.length} characters)`, 'choose a shorter --state-dir (at most 4000 characters)');
}

async function ensureDir(ctx: JournalContext, dir: string, uid: number, isRoot: boolean): Promise<void> {
  const { fs } = ctx;
  try {
    await fs.mkdir(dir, 0o700);
    await maybeSync(ctx, 'state-dir', () => fs.syncDir(path.dirname(dir)));
  } catch (err) {
    if (hasCode(err, 'ENOENT')) throw new StateDirError(`cannot create state directory ${dir}: its parent does not exist`, `create ${path.dirname(dir)} or choose another --state-dir`);
    if (!hasCode(err, 'EEXIST')) throw new StateDirError(`cannot create state directory ${dir}: ${(err as Error).message}`, 'choose another --state-dir');
  }
  const st = await fs.lstat(dir);
  if (st.kind === 'symlink') {
    const fix = isRoot ? `replace it with a real directory (mkdir -m 700 ${dir}) or point --state-dir at the target` : `replace it with a real directory: rm -- ${dir} && mkdir -m 700 ${dir} (move what the link points to back into it first)`;
    throw new StateDirError(`state directory ${dir} is a symbolic link; flow does not follow it`, fix);
  }
  if (st.kind !== 'dir') throw new StateDirError(`state directory ${dir} is not a directory`, 'choose another --state-dir');
  if (st.uid !== uid) throw new StateDirError(`state directory ${dir} is owned by uid ${st.uid}, not by this user (uid ${uid})`, `chown ${uid} ${dir}`);
  if ((st.mode & 0o022) !== 0) throw new StateDirError(`state directory ${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`, `chmod 700 ${dir}`);
}
