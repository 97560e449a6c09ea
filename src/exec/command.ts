/**
 * The command itself: `chroot ROOT COMMAND...` (coreutils; chroot(2) and chdir("/")), with
 * flow's own stdin, stdout and stderr, no timeout. Its exit status is flow's: a signal that
 * killed it is 128 + its number, as a shell reports it. SIGINT, SIGTERM and SIGHUP that
 * reach flow meanwhile are passed on to it (flow itself waits for it, then rolls the binds back).
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { ExecRefusedError } from '../errors.js';

/** Runs `argv` with `root` as its root directory; resolves to its exit status. */
export type CommandRunner = (root: string, argv: readonly string[], env: NodeJS.ProcessEnv) => Promise<number>;

/** The exit status a shell would report for a child that ended with `code` or `signal`. */
export function statusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (constants.signals[signal] ?? 0) : 0);
}

/** Spawns `argv`, forwarding stop signals, and resolves to its status (shared by the real and the test runner). */
export function spawnForwarding(argv: readonly string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: 'inherit' });
    const pass = (sig: NodeJS.Signals) => () => void child.kill(sig);
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, pass(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    const done = () => handlers.forEach(([s, h]) => process.off(s, h));
    child.on('error', (err: NodeJS.ErrnoException) => {
      done();
      reject(err.code === 'ENOENT' ? new ExecRefusedError(`${argv[0]} is not installed`, 'install coreutils (chroot)') : err);
    });
    child.on('close', (code, signal) => {
      done();
      resolve(statusOf(code, signal));
    });
  });
}

export const chrootRunner: CommandRunner = (root, argv, env) => spawnForwarding(['chroot', '--', root, ...argv], { env });
