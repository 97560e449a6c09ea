import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEBIAN_PACKAGES, runCommand, setCommandObserver, type CommandRecord } from '../../../src/kernel/exec.js';
import { failure } from './fixture.js';

afterEach(() => setCommandObserver(undefined));

describe('runCommand', () => {
  it('returns stdout, stderr and the exit code, with LC_ALL=C and PATH kept', async () => {
    const r = await runCommand(['sh', '-c', 'echo "$LC_ALL"; echo "$PATH"; echo err >&2']);
    const [lcAll, path] = r.stdout.split('\n');
    expect(lcAll).toBe('C');
    expect(path!.split(':')).toEqual(expect.arrayContaining((process.env.PATH ?? '').split(':').filter(Boolean)));
    expect(r.stderr).toBe('err');
    expect(r.exitCode).toBe(0);
  });

  it('runs commands without POSIXLY_CORRECT (GNU getopt would stop at the first operand: `dmsetup create -v`)', async () => {
    process.env.POSIXLY_CORRECT = '1';
    try {
      expect((await runCommand(['sh', '-c', 'echo "${POSIXLY_CORRECT-unset}"'])).stdout).toBe('unset');
    } finally {
      delete process.env.POSIXLY_CORRECT;
    }
  });

  it('gives every command /dev/null as stdin: one that reads it gets EOF at once, never a pipe left open', async () => {
    expect((await runCommand(['cat'])).stdout).toBe('');
    expect((await runCommand(['readlink', '/proc/self/fd/0'])).stdout).toBe('/dev/null');
  });

  it('passes arguments without a shell', async () => {
    expect((await runCommand(['printf', '%s|', 'a b', '$HOME', '`x`'])).stdout).toBe('a b|$HOME|`x`|');
  });

  it('maps a failure to a code from stderr, keeping argv, exit code and stderr', async () => {
    const argv = ['sh', '-c', 'echo "losetup: /dev/loop9: detach failed: No such device or address" >&2; exit 1'];
    const err = await failure(runCommand(argv));
    expect(err.code).toBe('ENXIO');
    expect(err.exitCode).toBe(1);
    expect(err.argv).toEqual(argv);
    expect(err.stderr).toContain('No such device or address');
    expect(err.message).toContain('exit 1');
  });

  it('accepts exit codes listed in okExitCodes', async () => {
    expect((await runCommand(['sh', '-c', 'exit 2'], { okExitCodes: [0, 2] })).exitCode).toBe(2);
    expect((await failure(runCommand(['sh', '-c', 'exit 2']))).code).toBe('EFAIL');
  });

  it('kills a command that runs past its timeout: ETIMEDOUT', async () => {
    const started = Date.now();
    const err = await failure(runCommand(['sleep', '10'], { timeoutMs: 200 }));
    expect(err.code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('runs the command in its own process group, so a terminal SIGINT to flow\'s group never reaches it', async () => {
    const pgrp = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2];
    const ours = pgrp(readFileSync('/proc/self/stat', 'utf8'));
    const r = await runCommand(['sh', '-c', 'echo $$; cat /proc/$$/stat']);
    const [pid, stat] = r.stdout.split('\n');
    expect(pgrp(stat!)).toBe(pid);
    expect(pgrp(stat!)).not.toBe(ours);
  });

  it('still kills a detached command at its timeout, leaving no process behind', async () => {
    const marker = `30.${process.pid}${Date.now() % 1000}`;
    const err = await failure(runCommand(['sleep', marker], { timeoutMs: 300 }));
    expect(err.code).toBe('ETIMEDOUT');
    const alive = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .some((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${marker}\0`;
        } catch {
          return false;
        }
      });
    expect(alive).toBe(false);
  });

  it('reports a missing tool as ENOTSUP naming the Debian package', async () => {
    const err = await failure(runCommand(['/nonexistent/sfdisk', '--json', '/x']));
    expect(err.code).toBe('ENOTSUP');
    expect(err.message).toContain('apt-get install fdisk');
    expect(DEBIAN_PACKAGES.dmsetup).toBe('dmsetup');
    expect(DEBIAN_PACKAGES.losetup).toBe('mount');
  });

  it.each([['a\nb'], ['a\rb'], ['a\0b']])('refuses %j in an argument before running anything', async (arg) => {
    const seen: CommandRecord[] = [];
    setCommandObserver((r) => seen.push(r));
    const err = await failure(runCommand(['echo', arg]));
    expect(err.code).toBe('EINVAL');
    expect(seen).toEqual([]);
  });

  it('tells the observer about every command: argv, exit code, duration, error code', async () => {
    const seen: CommandRecord[] = [];
    setCommandObserver((r) => seen.push(r));
    await runCommand(['true']);
    await runCommand(['false']).catch(() => undefined);
    const t0 = performance.now();
    await runCommand(['sleep', '0.2']);
    const elapsed = performance.now() - t0;
    expect(seen).toHaveLength(3);
    expect(seen[0]).toMatchObject({ argv: ['true'], exitCode: 0 });
    expect(seen[0]!.error).toBeUndefined();
    expect(seen[1]).toMatchObject({ argv: ['false'], exitCode: 1, error: 'EFAIL' });
    // the duration is the command's own: at least what it slept, at most what the call took
    expect(seen[2]).toMatchObject({ argv: ['sleep', '0.2'], exitCode: 0 });
    expect(seen[2]!.durationMs).toBeGreaterThanOrEqual(200);
    expect(seen[2]!.durationMs).toBeLessThanOrEqual(elapsed);
  });

  it('is not disturbed by an observer that throws', async () => {
    setCommandObserver(() => {
      throw new Error('observer bug');
    });
    expect((await runCommand(['echo', 'ok'])).stdout).toBe('ok');
  });
});

describe('a command outliving flow keeps flow\'s locks', () => {
  it('inherits the held lock fds: the lock stays taken until the command ends, even after flow let go of it', async () => {
    const { FlockLocks, heldLockFds } = await import('../../../journal/lock.js');
    const { onCommandStarted, runningCommand, setInheritedFds } = await import('../../../src/kernel/exec.js');
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'flow-inherit-'));
    setInheritedFds(heldLockFds);
    try {
      const release = await new FlockLocks(dir).acquire('run-z', { wait: false, what: 'run z' });
      const started = new Promise<void>((resolve) => {
        const off = onCommandStarted(() => {
          off();
          resolve();
        });
      });
      // runs until this test ends it, however slow the machine
      const cmd = runCommand(['sleep', '600'], { timeoutMs: 120_000 }).catch((e: unknown) => e);
      await started; // spawned: it holds the inherited lock fds
      await release(); // what a SIGKILL does to flow's own fd
      await expect(new FlockLocks(dir).acquire('run-z', { wait: false, what: 'run z' })).rejects.toThrow(/in use by another flow process/);
      process.kill(runningCommand()!.pid, 'SIGKILL');
      expect(await cmd).toMatchObject({ code: 'EFAIL', message: expect.stringContaining('killed by SIGKILL') });
      const again = await new FlockLocks(dir).acquire('run-z', { wait: false, what: 'run z' });
      await again();
    } finally {
      setInheritedFds(() => []);
    }
  });
});
