/**
 * Locks that the kernel releases when the holder dies (flock(2)), so a SIGKILLed flow
 * never leaves a stale lock. Node has no flock(); util-linux `flock` is run on an fd the
 * process keeps open: the lock belongs to that open file description and lives until we
 * close it (or die). Names: `run-<id>` (one process per run), `alloc` (host-wide, around
 * steps that allocate kernel numbers), `index`. Every lock file is flow's own: a regular
 * file owned by flow's user, in a directory only that user can write (the state dir's
 * `locks/`, or HOST_LOCK_DIR for the host-wide ones), so no other local user can hold a
 * lock, plant one, or point one elsewhere.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, type Stats } from 'node:fs';
import path from 'node:path';
import { LockedError, StateDirError } from '../src/errors.js';

export type Release = () => Promise<void>;

/** fds of the flock locks this process holds (FlockLocks), for commands to inherit. */
const heldFds = new Set<number>();

/**
 * The lock fds a command flow starts should inherit: a command that outlives a SIGKILLed
 * flow then keeps the run's lock (the lock belongs to the open file description) until it
 * ends, so a recovery cannot start while it may still change the kernel.
 */
export function heldLockFds(): number[] {
  return [...heldFds];
}

export interface LockOptions {
  /** wait for the lock (up to timeoutMs) instead of failing at once */
  wait: boolean;
  timeoutMs?: number;
  /** what holds it, for the error message ("run abcd2345") */
  what: string;
}

/**
 * How a new run (a fresh id nobody has recorded) takes its lock: waiting briefly, since the
 * only other holder it can meet is `flow recover` removing a lock file a start killed before
 * it wrote anything left, which holds it for an instant (its own run is refused only when
 * that takes longer than this).
 */
export const FRESH_RUN_LOCK = (id: string): LockOptions => ({ wait: true, timeoutMs: 10_000, what: `run ${id}` });

export interface Locks {
  acquire(name: string, opts: LockOptions): Promise<Release>;
  /**
   * Checks that the lock can be taken later (its file is usable), without taking it: a run
   * checks the allocation lock before it is recorded, so a lock file planted as a symlink
   * is refused before anything changes, not halfway through the run.
   */
  check?(name: string): Promise<void>;
}

/**
 * The locks, with one lock the caller already holds handed out again (a no-op release):
 * flow export and flow exec hold the parent run's lock while their own internal run
 * (export-temp, exec-binds) asks for it.
 */
export function holding(locks: Locks, name: string): Locks {
  return {
    acquire: (n, o) => (n === name ? Promise.resolve(async () => undefined) : locks.acquire(n, o)),
    check: (n) => locks.check?.(n) ?? Promise.resolve(),
  };
}

/**
 * flock(1)-based locks on files in `dir`. With `privateDir`, `dir` is made (0700) when
 * missing and checked before every lock (ensurePrivateDir): the host-wide lock directory,
 * which, unlike the state dir, nobody checked before.
 */
export class FlockLocks implements Locks {
  constructor(
    private readonly dir: string,
    private readonly opts: { privateDir?: boolean } = {},
  ) {}

  private file(name: string): string {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`bad lock name ${JSON.stringify(name)}`);
    if (this.opts.privateDir) ensurePrivateDir(this.dir);
    return path.join(this.dir, `${name}.lock`);
  }

  async check(name: string): Promise<void> {
    closeSync(openLockFile(this.file(name)));
  }

  async acquire(name: string, opts: LockOptions): Promise<Release> {
    const file = this.file(name);
    const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
    for (;;) {
      const fd = openLockFile(file);
      const wait = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
      const args = ['--exclusive', ...(opts.wait ? ['--timeout', String(wait)] : ['--nonblock']), '3'];
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn('flock', args, { stdio: ['ignore', 'ignore', 'pipe', fd] });
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', (err) => reject(err));
        child.on('close', (c) => (c === 0 || c === 1 ? resolve(c) : reject(new Error(`flock exited ${c}: ${stderr.trim()}`))));
      }).catch((err) => {
        closeSync(fd);
        throw err;
      });
      if (code !== 0) {
        closeSync(fd);
        // (`ps -C flow` finds nothing: flow runs as `node .../flow.js`; the holder has the lock file open)
        throw new LockedError(`${opts.what} is in use by another flow process`, `wait for it to finish; \`fuser -v ${file}\` shows which process holds it`);
      }
      // the holder this one waited for may have removed the file (prune, recover: under the
      // lock) or let it be replaced: a lock on a file no longer at `file` excludes nobody who
      // opens `file` now, so it is dropped and the lock taken again on what is there
      if (!sameInode(fd, file)) {
        closeSync(fd);
        continue;
      }
      return this.held(fd);
    }
  }

  private held(fd: number): Release {
    heldFds.add(fd);
    let released = false;
    return async () => {
      if (!released) {
        heldFds.delete(fd);
        closeSync(fd);
      }
      released = true;
    };
  }
}

/** Whether the open file `fd` is still the file at `file` (not removed, not replaced). */
function sameInode(fd: number, file: string): boolean {
  const open = fstatSync(fd);
  const now = lstatSync(file, { throwIfNoEntry: false });
  return now !== undefined && now.ino === open.ino && now.dev === open.dev;
}

/**
 * Where flow's host-wide locks live (shared by every state dir): a directory of its own
 * directly under root-owned /run, never world-writable /run/lock, where any local user
 * could create and flock flow's lock file and stall every run.
 */
export const HOST_LOCK_DIR = '/run/flow-locks';

function describeOwner(st: Stats): string {
  return `owned by uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

/**
 * Makes `dir` (mode 0700) when missing and checks it: a real directory (not a symbolic
 * link), owned by flow's user, writable by nobody else; its parent owned by flow's user or
 * root and not writable by group or others (so nobody else can replace `dir`). Anything
 * else is a StateDirError with the fix: flow never takes a lock in a place another user
 * controls.
 */
export function ensurePrivateDir(dir: string): void {
  const uid = process.geteuid?.() ?? 0;
  const parent = path.dirname(dir);
  const ps = lstatSync(parent, { throwIfNoEntry: false });
  if (!ps?.isDirectory() || (ps.uid !== 0 && ps.uid !== uid) || (ps.mode & 0o022) !== 0) {
    throw new StateDirError(
      `lock directory ${dir}: its parent ${parent} is ${ps ? (ps.isDirectory() ? describeOwner(ps) : 'not a directory') : 'missing'}; it must be a directory of root's that only root can write`,
      `fix ${parent} (chown root: ${parent} && chmod go-w ${parent})`,
    );
  }
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new StateDirError(`cannot create lock directory ${dir}: ${(err as Error).message}`, `check ${parent}`);
  }
  const st = lstatSync(dir);
  const fix = `remove it (rm -rf -- ${dir}); flow creates it itself (0700, owned by root)`;
  if (st.isSymbolicLink()) throw new StateDirError(`lock directory ${dir} is a symbolic link; flow does not follow it`, fix);
  if (!st.isDirectory()) throw new StateDirError(`lock directory ${dir} is not a directory`, fix);
  if (st.uid !== uid) throw new StateDirError(`lock directory ${dir} is not flow's: ${describeOwner(st)}, flow runs as uid ${uid}`, fix);
  if ((st.mode & 0o022) !== 0) throw new StateDirError(`lock directory ${dir} is writable by others: ${describeOwner(st)}`, `chmod 700 ${dir}`);
}

/**
 * Opens (creating when missing) a lock file: never through a symbolic link planted in its
 * place (O_NOFOLLOW), only a regular file (O_NONBLOCK: a FIFO planted there must not hang
 * the open), and only one owned by flow's user (one another user made could be held by
 * them). Anything else is a StateDirError naming the file and the fix.
 */
export function openLockFile(file: string): number {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new StateDirError(`lock file ${file} is a symbolic link; flow does not follow it`, `remove the link (rm -- ${file}); flow creates the lock file itself`);
    if (code === 'EISDIR') throw new StateDirError(`lock file ${file} is a directory`, `remove it (rmdir -- ${file}); flow creates the lock file itself`);
    throw new StateDirError(`cannot open lock file ${file}: ${(err as Error).message}`, `check ${path.dirname(file)} (flow doctor)`);
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new StateDirError(`lock file ${file} is not a regular file`, `remove it (rm -- ${file}); flow creates the lock file itself`);
  }
  const uid = process.geteuid?.() ?? 0;
  if (st.uid !== uid) {
    closeSync(fd);
    throw new StateDirError(`lock file ${file} is not flow's: ${describeOwner(st)}, flow runs as uid ${uid}`, `remove it (rm -- ${file}); flow creates the lock file itself`);
  }
  return fd;
}

/** In-process locks for tests that run many engines in one process. */
export class MemoryLocks implements Locks {
  private readonly held = new Set<string>();

  async acquire(name: string, opts: LockOptions): Promise<Release> {
    if (this.held.has(name)) throw new LockedError(`${opts.what} is in use by another flow process`);
    this.held.add(name);
    let released = false;
    return async () => {
      if (!released) this.held.delete(name);
      released = true;
    };
  }

  /** Drops every lock, as the kernel does when the process dies. */
  crash(): void {
    this.held.clear();
  }
}
