import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FlockLocks } from '../../../journal/lock.js';
import { LockedError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'flow-lock-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

describe('FlockLocks', () => {
  it('a held lock refuses a second holder with LockedError, and is free again after release', async () => {
    const a = new FlockLocks(dir);
    const b = new FlockLocks(dir);
    const release = await a.acquire('run-x', { wait: false, what: 'run x' });
    await expect(b.acquire('run-x', { wait: false, what: 'run x' })).rejects.toThrow(LockedError);
    await expect(b.acquire('run-x', { wait: false, what: 'run x' })).rejects.toThrow('run x is in use by another flow process');
    await release();
    const again = await b.acquire('run-x', { wait: false, what: 'run x' });
    await again();
  });

  it('the kernel releases the lock of a process that was SIGKILLed', async () => {
    const script = fileURLToPath(new URL('./hold-lock.mjs', import.meta.url));
    const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    const locks = new FlockLocks(dir);
    const err = await locks.acquire('run-y', { wait: false, what: 'run y' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    // the hint's command names the holder
    const file = join(dir, 'run-y.lock');
    expect((err as LockedError).hint).toContain(`\`fuser -v ${file}\``);
    const fuser = spawnSync('fuser', [file], { encoding: 'utf8' });
    expect(fuser.stdout.trim().split(/\s+/)).toContain(String(child.pid));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const release = await locks.acquire('run-y', { wait: false, what: 'run y' });
    await release();
  });

  it('waits for a lock when asked to', async () => {
    const locks = new FlockLocks(dir);
    const release = await locks.acquire('alloc', { wait: true, what: 'alloc' });
    let released = false;
    const second = new FlockLocks(dir).acquire('alloc', { wait: true, timeoutMs: 60_000, what: 'alloc' }).then((rel) => ({ rel, afterRelease: released }));
    // the kernel lists the second as a waiter on the lock file ("-> FLOCK" in /proc/locks)
    const ino = statSync(join(dir, 'alloc.lock')).ino;
    const waiting = () => readFileSync('/proc/locks', 'utf8').split('\n').some((l) => / -> FLOCK /.test(l) && l.includes(`:${ino} `));
    for (const end = Date.now() + 30_000; !waiting(); await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > end) throw new Error('the second acquire never waited on the lock');
    }
    released = true;
    await release();
    const { rel, afterRelease } = await second;
    expect(afterRelease).toBe(true);
    await rel();
  });

  it('a waiter whose holder removed the lock file (as prune and recover do, under the lock) takes the lock again on the file now there: never two holders', async () => {
    const locks = new FlockLocks(dir);
    const file = join(dir, 'run-z.lock');
    const holder = await locks.acquire('run-z', { wait: false, what: 'run z' });
    const stale = statSync(file).ino;
    // the waiter opens the file now and waits for its lock
    const waiter = new FlockLocks(dir).acquire('run-z', { wait: true, timeoutMs: 60_000, what: 'run z' });
    const waiting = () => readFileSync('/proc/locks', 'utf8').split('\n').some((l) => / -> FLOCK /.test(l) && l.includes(`:${stale} `));
    for (const end = Date.now() + 30_000; !waiting(); await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > end) throw new Error('the waiter never waited on the lock');
    }
    unlinkSync(file);
    await holder();
    const release = await waiter;
    // the waiter holds the lock of the file at the path: a third comer is refused
    await expect(new FlockLocks(dir).acquire('run-z', { wait: false, what: 'run z' })).rejects.toThrow(LockedError);
    await release();
    const again = await new FlockLocks(dir).acquire('run-z', { wait: false, what: 'run z' });
    await again();
  });
});
