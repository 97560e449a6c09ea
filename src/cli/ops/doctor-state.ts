/**
 * `flow doctor`, the state directory: the rules flow enforces when it opens it
 * (journal/state-dir.ts: a directory, not a symlink, owned by this user, not writable by
 * group or others), temp files a dead writer left, lock files without a run, and runs
 * left unfinished that no flow process holds. Reads only; changes nothing.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { FlockLocks } from '../../../journal/lock.js';
import { layout } from '../../../journal/state-dir.js';
import { openStore } from '../../app.js';
import { LockedError } from '../../errors.js';
import { fail, ok, warn, type Check } from './doctor-types.js';
import { ENDED, isCorrupt, leftoverExecBinds, readRuns } from './runs.js';
import { leftoverExport } from '../../export/names.js';

/** Checks root, runs/ and locks/ as flow would; `usable` when flow can open the state dir without changing it. */
export async function stateDirCheck(root: string): Promise<{ check: Check; usable: boolean }> {
  const uid = process.getuid?.() ?? 0;
  const l = layout(root);
  for (const dir of [l.root, l.runs, l.locks]) {
    const st = await lstat(dir).catch((err: NodeJS.ErrnoException) => err);
    if (st instanceof Error) {
      if (st.code !== 'ENOENT') return { check: fail('state-dir', `cannot inspect ${dir}: ${st.message}`, 'choose another --state-dir'), usable: false };
      const parent = await lstat(path.dirname(dir)).catch(() => undefined);
      if (dir === l.root && !parent) return { check: fail('state-dir', `${dir} does not exist and neither does its parent`, `mkdir -p ${path.dirname(dir)} (or choose another --state-dir)`), usable: false };
      return { check: ok('state-dir', `${dir} does not exist yet; flow creates it (mode 0700) on first use`), usable: false };
    }
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    if (st.isSymbolicLink()) return { check: fail('state-dir', `${dir} is a symbolic link; flow does not follow it`, `replace it with a real directory (mkdir -m 700 ${dir}) or point --state-dir at the target`), usable: false };
    if (!st.isDirectory()) return { check: fail('state-dir', `${dir} is not a directory`, 'move it away or choose another --state-dir'), usable: false };
    if (st.uid !== uid) return { check: fail('state-dir', `${dir} is owned by uid ${st.uid}, not by this user (uid ${uid})`, `chown ${uid} ${dir}`), usable: false };
    if ((st.mode & 0o022) !== 0) return { check: fail('state-dir', `${dir} is writable by group or others (mode ${mode})`, `chmod 700 ${dir}`), usable: false };
  }
  return { check: ok('state-dir', `${root}: owned by uid ${uid}, not writable by group or others`), usable: true };
}

/** Whether a live process could still be writing a temp file named `.<target>.<pid>.<n>.tmp`. */
function writerAlive(name: string): boolean {
  const pid = Number(/\.(\d+)\.\d+\.tmp$/.exec(name)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function tempFileCheck(root: string): Promise<Check> {
  const l = layout(root);
  const stale: string[] = [];
  for (const dir of [l.root, l.runs]) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) if (n.startsWith('.') && n.endsWith('.tmp') && !writerAlive(n)) stale.push(path.join(dir, n));
  }
  if (stale.length === 0) return ok('temp-files', 'no temp files left by a dead writer');
  return warn('temp-files', `${stale.length} temp file${stale.length === 1 ? '' : 's'} left by a flow process that died before renaming: ${stale.join(', ')}`, `they never became a journal; remove them: rm -- ${stale.join(' ')}`);
}

/** Lock files without a run, corrupt journals, and unfinished runs no flow process holds. */
export async function runChecks(root: string): Promise<Check[]> {
  const store = await openStore(root);
  const l = layout(root);
  const locks = new FlockLocks(l.locks);
  // lock files flow refuses to open (a symlink, a directory, a FIFO planted there): reported, never opened
  const unusable: string[] = [];
  for (const n of await readdir(l.locks)) {
    const st = await lstat(path.join(l.locks, n)).catch(() => undefined);
    if (st && !st.isFile()) unusable.push(path.join(l.locks, n));
  }
  const held = async (name: string) => {
    if (unusable.includes(path.join(l.locks, `${name}.lock`))) return false;
    try {
      await (await locks.acquire(name, { wait: false, what: name }))();
      return false;
    } catch (err) {
      if (err instanceof LockedError) return true;
      throw err;
    }
  };
  const runs = await readRuns({ store });
  const ids = new Set(runs.map((r) => r.id));
  const orphans: string[] = [];
  for (const n of await readdir(l.locks)) {
    const id = /^run-([a-z0-9]+)\.lock$/.exec(n)?.[1];
    if (id && !ids.has(id) && !unusable.includes(path.join(l.locks, n)) && !(await held(`run-${id}`))) orphans.push(path.join(l.locks, n));
  }
  const checks: Check[] = [];
  if (unusable.length > 0) {
    const also = orphans.length > 0 ? `; and ${orphans.length} lock file${orphans.length === 1 ? '' : 's'} of runs that no longer exist: ${orphans.join(', ')}` : '';
    checks.push(fail('lock-files', `${unusable.length} lock file${unusable.length === 1 ? ' is' : 's are'} not a regular file (a symbolic link, directory or FIFO; flow refuses to use them): ${unusable.join(', ')}${also}`, `remove them; flow creates lock files itself: rm -r -- ${[...unusable, ...orphans].join(' ')}`));
  } else checks.push(orphans.length === 0 ? ok('lock-files', 'every run lock file belongs to a run') : warn('lock-files', `${orphans.length} lock file${orphans.length === 1 ? '' : 's'} of runs that no longer exist, not held: ${orphans.join(', ')}`, `harmless; remove them: rm -- ${orphans.join(' ')}`));
  const corrupt = runs.filter(isCorrupt);
  checks.push(corrupt.length === 0 ? ok('journals', `${runs.length} run journal${runs.length === 1 ? '' : 's'}, none corrupt`) : fail('journals', corrupt.map((c) => c.corrupt).join('; '), 'flow never touches them: inspect each and move it out of runs/ (other runs are unaffected)'));
  const stopped: string[] = [];
  for (const r of runs) {
    const what = isCorrupt(r) ? null : !ENDED.has(r.status) ? r.status : leftoverExecBinds(r) ? 'the binds of a flow exec that was killed' : leftoverExport(r) ? 'the temporary file of a flow export that was killed' : null;
    if (what !== null && !(await held(`run-${r.id}`))) stopped.push(`${r.id} (${what})`);
  }
  checks.push(stopped.length === 0 ? ok('unfinished-runs', 'no unfinished run left without a flow process') : warn('unfinished-runs', `unfinished, and no flow process holds them (crashed or stopped): ${stopped.join(', ')}`, 'settle them: flow recover (or flow resume <id> / flow rollback <id> one by one)'));
  return checks;
}
