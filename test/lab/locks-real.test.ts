/**
 * Locks a local user cannot hold hostage, on the real host: an unprivileged user (uid
 * 65534, through setpriv) makes and holds flock on `/run/lock/flow-alloc.lock` (where
 * flow's host-wide lock used to live), plants links there, and tries to make flow's lock
 * directory before flow does; with fs.protected_regular on (as systemd sets it). A run and
 * its rollback still go through at once: nothing that user did blocks, redirects or fails
 * them. (Before the fix the run waited for the held lock, or failed with EACCES.)
 * Lab only: scripts/lab run -q -- npx vitest run --project lab test/lab/locks-real.test.ts
 */
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { HOST_LOCK_DIR } from '../../journal/lock.js';
import { requireLab } from './lab-env.js';
import { hostObjects, Sandbox, sh } from './real-host.js';

requireLab();

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--'];

it('uid 65534 holds /run/lock/flow-alloc.lock, plants links and races for the lock directory: a run and its rollback go through', async () => {
  const sb = new Sandbox();
  const before = hostObjects();
  const planted = ['/run/lock/flow-alloc.lock', '/run/lock/flow-locks', '/run/lock/alloc.lock'];
  const protectedRegular = readFileSync('/proc/sys/fs/protected_regular', 'utf8').trim();
  writeFileSync('/proc/sys/fs/protected_regular', '1');
  // as after a boot: the user is first (an older flow of this boot may have made the file)
  for (const p of planted) rmSync(p, { force: true });
  const holder = spawn(NOBODY[0]!, [...NOBODY.slice(1), 'flock', '/run/lock/flow-alloc.lock', 'sh', '-c', 'echo held; exec sleep 600'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let id = '';
  try {
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (c) => reject(new Error(`the holder exited ${c}`)));
    });
    const nobody = (argv: string[]) => spawnSync(NOBODY[0]!, [...NOBODY.slice(1), ...argv], { encoding: 'utf8' });
    expect(nobody(['ln', '-s', '/etc', '/run/lock/flow-locks']).status).toBe(0);
    expect(nobody(['ln', '-s', '/etc/shadow', '/run/lock/alloc.lock']).status).toBe(0);
    expect(nobody(['mkdir', HOST_LOCK_DIR]).status).not.toBe(0);
    const file = join(sb.dir, 'disk.ext4');
    sh(['truncate', '-s', '16M', file]);
    sh(['mkfs.ext4', '-F', '-q', '-b', '4096', file]);

    const r = sb.flow(['run', 'loop-mount', '--file', file]);
    id = r.stdout.split('\n')[0]!.trim();
    expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
    const back = sb.flow(['rollback', id]);
    expect(back.code, `${back.stderr}\n${back.stdout}`).toBe(0);
    id = '';
    expect(hostObjects()).toEqual(before);
    const st = lstatSync(HOST_LOCK_DIR);
    expect([st.isDirectory(), st.uid, st.mode & 0o777]).toEqual([true, 0, 0o700]);
    expect(lstatSync(join(HOST_LOCK_DIR, 'flow-alloc.lock')).uid).toBe(0);
  } finally {
    try {
      process.kill(-holder.pid!, 'SIGKILL'); // flock and the sleep it started
    } catch {
      // it had exited (a failed start is reported above)
    }
    holder.stdout!.destroy();
    if (id) sb.flow(['rollback', id]);
    writeFileSync('/proc/sys/fs/protected_regular', protectedRegular);
    for (const p of planted) rmSync(p, { force: true });
    if (!hostObjects().mounts.some((m) => m.includes(sb.dir))) rmSync(sb.dir, { recursive: true, force: true });
  }
});
