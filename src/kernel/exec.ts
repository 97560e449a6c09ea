/**
 * The one place flow runs external programs (the only importer of execa, loaded at the first command). Argument
 * arrays, never a shell; LC_ALL=C so output and error text parse the same everywhere;
 * always a timeout (a dmsetup waiting for a udevd that never answers hangs forever).
 * Every command runs in its own process group (`detached`), so a Ctrl-C in the terminal
 * (SIGINT to flow's foreground process group) never reaches it: flow lets the running
 * command finish and stops after the step. A mount(8) killed right after its mount(2)
 * took effect would otherwise be journaled "failed" with the mount in place.
 * stdin is always /dev/null: input goes in argv (dm tables: dmsetup create --concise).
 * Failures become `KernelError`s with a code from the stderr table in parse/error-code.ts.
 */
import type { Options } from 'execa';

/** execa, loaded at the first command (its module tree costs ~30 ms of CPU to initialise: commands that run none never pay it). */
let execaModule: Promise<typeof import('execa')> | undefined;
const loadExeca = () => (execaModule ??= import('execa'));

let inheritedFds: () => number[] = () => [];

/**
 * Which fds every command inherits (app.ts: the flock locks flow holds), so a command that
 * outlives a SIGKILLed flow keeps the run locked until it ends.
 */
export function setInheritedFds(fn: () => number[]): void {
  inheritedFds = fn;
}

/** A command that has been started and has not yet been reaped. */
export interface RunningCommand {
  pid: number;
  argv: readonly string[];
}

let running: RunningCommand | undefined;
let spawnListeners: ((c: RunningCommand) => void)[] = [];

/** The command running now, if any (flow runs one at a time): for the test-only crash switch. */
export function runningCommand(): RunningCommand | undefined {
  return running;
}

/**
 * Calls `fn` right after each command is started (its pid known, before flow waits for it):
 * the real kernel's "command running" point for dm create, and the test-only crash switch.
 * Returns the function that removes it.
 */
export function onCommandStarted(fn: (c: RunningCommand) => void): () => void {
  spawnListeners.push(fn);
  return () => {
    spawnListeners = spawnListeners.filter((f) => f !== fn);
  };
}
import { KernelError, type KernelErrorCode } from '../errors.js';
import { codeFromStderr } from './parse/error-code.js';

/** Timeout applied when the caller gives none (ms). */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** What a command printed and how it ended. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** How to run one command. */
export interface RunOptions {
  /** default DEFAULT_TIMEOUT_MS */
  timeoutMs?: number;
  /** exit codes that count as success (default [0]) */
  okExitCodes?: number[];
}

/** One finished command, as the observer sees it. */
export interface CommandRecord {
  argv: readonly string[];
  /** undefined when the command never started or was killed */
  exitCode: number | undefined;
  durationMs: number;
  /** set when runCommand threw */
  error?: KernelErrorCode;
}

/** Called after every command (for `--verbose`); must not throw. */
export type CommandObserver = (record: CommandRecord) => void;

let observer: CommandObserver | undefined;

/** Installs (or, with undefined, removes) the observer of every command run. */
export function setCommandObserver(fn: CommandObserver | undefined): void {
  observer = fn;
}

/**
 * Tells the observer about an operation that stands for a command without running one:
 * the fake kernel (the test entry's, tests only) reports its operations as
 * `['fake', op, what]`, so `--verbose` can be tested without touching the host.
 */
export function reportCommand(record: CommandRecord): void {
  try {
    observer?.(record);
  } catch {
    // an observer must not change the outcome of an operation
  }
}

/** Debian package providing each tool flow runs (for "not installed" messages). */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  losetup: 'mount',
  mount: 'mount',
  umount: 'mount',
  blkid: 'util-linux',
  blockdev: 'util-linux',
  sfdisk: 'fdisk',
  dmsetup: 'dmsetup',
  'mkfs.ext4': 'e2fsprogs',
  resize2fs: 'e2fsprogs',
  dumpe2fs: 'e2fsprogs',
  'mkfs.vfat': 'dosfstools',
  modprobe: 'kmod',
};

/** Refuses an empty argv or any element with a newline, carriage return or NUL (EINVAL). */
export function assertSafeArgv(argv: readonly string[]): void {
  if (argv.length === 0 || argv[0] === '') throw new KernelError('EINVAL', 'empty command', argv);
  for (const arg of argv) {
    if (/[\n\r\0]/.test(arg)) throw new KernelError('EINVAL', `refusing argument with a newline or NUL: ${JSON.stringify(arg)}`, argv);
  }
}

/** PATH as inherited, plus the sbin directories root's tools live in when missing. */
function toolPath(): string {
  const parts = (process.env.PATH ?? '').split(':').filter((p) => p !== '');
  for (const dir of ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin']) {
    if (!parts.includes(dir)) parts.push(dir);
  }
  return parts.join(':');
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';
}

/**
 * Runs argv[0] with the remaining arguments. Resolves when the exit code is in
 * `okExitCodes`; otherwise rejects with a KernelError: ETIMEDOUT on timeout, ENOTSUP
 * when the tool is not installed, else the code its stderr maps to.
 */
export async function runCommand(argv: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  assertSafeArgv(argv);
  const [file, ...args] = argv as [string, ...string[]];
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const started = performance.now();
  const record: CommandRecord = { argv: [...argv], exitCode: undefined, durationMs: 0 };
  try {
    const { execa } = await loadExeca();
    const child = execa(file, args, {
      // fds 3.. are the locks flow holds: see setInheritedFds
      // (execa accepts fd numbers there at run time; its types do not say so)
      // stdin /dev/null: no command of flow's reads it, and one that did (dmsetup create
      // without a table argument) would wait forever once a SIGKILLed flow left it behind
      stdio: ['ignore', 'pipe', 'pipe', ...inheritedFds()] as unknown as Options['stdio'],
      timeout,
      // own process group: terminal signals (SIGINT, SIGQUIT, SIGHUP) go to flow only; the
      // timeout still kills the command (execa signals its pid: SIGTERM, SIGKILL 5 s later)
      detached: true,
      reject: false,
      // LVM_SUPPRESS_FD_WARNINGS: libdevmapper tools must not complain about the inherited lock fds.
      // POSIXLY_CORRECT removed: with it GNU getopt stops at the first operand, and flow writes
      // options after the command word (`dmsetup create -v --concise`, `dmsetup info -c`)
      env: { LC_ALL: 'C', PATH: toolPath(), LVM_SUPPRESS_FD_WARNINGS: '1', POSIXLY_CORRECT: undefined },
      extendEnv: true,
    });
    if (child.pid !== undefined) {
      running = { pid: child.pid, argv: [...argv] };
      for (const fn of spawnListeners) fn(running);
    }
    const r = await child.finally(() => {
      running = undefined;
    });
    record.exitCode = r.exitCode;
    const stdout = typeof r.stdout === 'string' ? r.stdout : '';
    const stderr = typeof r.stderr === 'string' ? r.stderr : '';
    if (r.timedOut) {
      throw new KernelError('ETIMEDOUT', `${argv.join(' ')} did not finish within ${timeout} ms`, argv, undefined, stderr);
    }
    if (r.exitCode === undefined) {
      if (r.code === 'ENOENT') {
        const pkg = DEBIAN_PACKAGES[file.split('/').pop() ?? file];
        const hint = pkg ? ` (install the Debian package "${pkg}": apt-get install ${pkg})` : '';
        throw new KernelError('ENOTSUP', `${file} is not installed or not on PATH${hint}`, argv);
      }
      const why = r.signal ? `killed by ${r.signal}` : (r.shortMessage ?? 'could not be started');
      throw new KernelError(r.code === 'EACCES' ? 'EPERM' : 'EFAIL', `${argv.join(' ')}: ${why}`, argv, undefined, stderr);
    }
    if (!(opts.okExitCodes ?? [0]).includes(r.exitCode)) {
      let code = codeFromStderr(stderr);
      if (code === 'EFAIL' && stdout !== '') code = codeFromStderr(stdout);
      const detail = firstLine(stderr) || firstLine(stdout) || 'no error output';
      throw new KernelError(code, `${argv.join(' ')} failed (exit ${r.exitCode}): ${detail}`, argv, r.exitCode, stderr);
    }
    return { stdout, stderr, exitCode: r.exitCode };
  } catch (err) {
    if (err instanceof KernelError) record.error = err.code;
    throw err;
  } finally {
    record.durationMs = performance.now() - started;
    try {
      observer?.(record);
    } catch {
      // an observer must not change the outcome of a command
    }
  }
}
