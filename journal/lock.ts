/**
 * Locks that the kernel releases when the holder dies (flock(2)), so a SIGKILLed flow
 * never leaves a stale lock. Node has no flock(); util-linux `flock` is run on an fd the
 * process keeps open: the lock belongs to that open file description and lives until we
 * close it (or die). Names: `run-<id>` (one process per run), `alloc` (host-wide, around
 * steps that allocate kernel numbers), `index`.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync } from 'node:fs';
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

export interface Locks {
  acquire(name: string, opts: LockOptions): Promise<Release>;
  /**
   * Checks that the lock can be taken later (its file is usable), without taking it: a run
   * checks the allocation lock before it is recorded, so a lock file planted as a symlink
   * is refused before anything changes, not halfway through the run.
   */
  check?(name: string): Promise<void>;
}

/** flock(1)-based locks on files in `dir`. */
export class FlockLocks implements Locks {
  constructor(private readonly dir: string) {}

  private file(name: string): string {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`bad lock name ${JSON.stringify(name)}`);
    return path.join(this.dir, `${name}.lock`);
  }

  async check(name: string): Promise<void> {
    closeSync(openLockFile(this.file(name)));
  }

  async acquire(name: string, opts: LockOptions): Promise<Release> {
    const file = this.file(name);
    const fd = openLockFile(file);
    const args = ['--exclusive', ...(opts.wait ? ['--timeout', String(Math.ceil((opts.timeoutMs ?? 60_000) / 1000))] : ['--nonblock']), '3'];
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

/**
 * Opens (creating when missing) a lock file: never through a symbolic link planted in its
 * place (O_NOFOLLOW), and only a regular file (O_NONBLOCK: a FIFO planted there must not
 * hang the open). Anything else is a StateDirError naming the file and the fix.
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
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new StateDirError(`lock file ${file} is not a regular file`, `remove it (rm -- ${file}); flow creates the lock file itself`);
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
