/**
 * Runs the built CLI (dist/) as a real subprocess against a persisted fake kernel
 * (FLOW_FAKE_KERNEL), a temp state directory and temp files. The fake kernel and the
 * other test-only switches exist only in the test entry (dist/test/flow.js); the shipped
 * binary (dist/bin/flow.js) ignores them (shipped.test.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, openSync, closeSync, writeSync, ftruncateSync, readFileSync, existsSync, rmSync, readdirSync, lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterEach, expect } from 'vitest';
import { fileURLToPath } from 'node:url';
import { encodeSuperblock } from '../../src/kernel/fake/ext.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { realFs } from '../../src/fs/real.js';
import { mbr } from '../support/scenarios.js';

/** The shipped binary (package.json's bin): no test switch reaches it. */
export const SHIPPED = fileURLToPath(new URL('../../dist/bin/flow.js', import.meta.url));
/** The test entry: the same command line, with the test-only switches. */
export const TEST_ENTRY = fileURLToPath(new URL('../../dist/test/flow.js', import.meta.url));
/** What the tests here run: the test entry (every sandbox uses the fake kernel). */
export const MAIN = TEST_ENTRY;

/**
 * A copy of the test build in a new world-readable directory, for runs as another user:
 * the checkout may sit in a directory only root can read (a clone under /root, a
 * `mktemp -d`), where that user could not even load the CLI. `remove()` deletes it.
 */
export function entryForOtherUsers(): { main: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'flow-cli-bin-'));
  cpSync(dirname(TEST_ENTRY), join(dir, 'test'), { recursive: true });
  chmodSync(dir, 0o755);
  return { main: join(dir, 'test', 'flow.js'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'flow-cli-'));
  readonly stateDir = join(this.dir, 'state');
  readonly kernelFile = join(this.dir, 'kernel.json');
  readonly runDir = join(this.dir, 'run');

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH, FLOW_STATE_DIR: this.stateDir, FLOW_FAKE_KERNEL: this.kernelFile, FLOW_RUN_DIR: this.runDir, ...extra };
  }

  flow(args: string[], extra: Record<string, string> = {}): Result {
    const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: this.dir, env: this.env(extra), encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts the CLI without waiting (for signals). */
  spawn(args: string[], extra: Record<string, string> = {}) {
    return spawn(process.execPath, [MAIN, ...args], { cwd: this.dir, env: this.env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /**
   * Starts the CLI and holds it `ms` at `point` (FLOW_PAUSE_AT); `reached` resolves once
   * the process says it is there (FLOW_CRASH_AT=list), so a signal sent then lands inside
   * the pause whatever the machine's load (never a fixed sleep).
   */
  spawnPaused(args: string[], point: string, ms: number, extra: Record<string, string> = {}) {
    const child = this.spawn(args, { ...extra, FLOW_CRASH_AT: 'list', FLOW_PAUSE_AT: `${point}:${ms}` });
    const io = { out: '', err: '' };
    child.stdout!.on('data', (d: Buffer) => (io.out += d.toString()));
    const reached = new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        io.err += d.toString();
        if (io.err.includes(`crash-point ${point}\n`)) resolve();
      });
      child.on('close', (code) => reject(new Error(`flow ${args.join(' ')} ended (${code}) before ${point}:\n${io.err}`)));
    });
    const closed = new Promise<number | null>((r) => child.on('close', r));
    return { child, io, reached, closed };
  }

  /** The fake kernel's state as saved by the last CLI process. */
  kernel(): { loops: { device: string; file?: string }[]; dm: { name: string; uuid: string }[]; zram: unknown[]; mounts: { target: string }[] } {
    if (!existsSync(this.kernelFile)) return { loops: [], dm: [], zram: [], mounts: [] };
    return JSON.parse(readFileSync(this.kernelFile, 'utf8'));
  }

  runs(): string[] {
    return existsSync(join(this.stateDir, 'runs')) ? readdirSync(join(this.stateDir, 'runs')).filter((n) => n.endsWith('.json')) : [];
  }

  /** A sparse file with bytes at offsets. */
  file(name: string, size: number, chunks: [number, Uint8Array][] = []): string {
    const p = join(this.dir, name);
    const fd = openSync(p, 'w', 0o644);
    for (const [o, b] of chunks) writeSync(fd, b, 0, b.length, o);
    ftruncateSync(fd, size);
    closeSync(fd);
    return p;
  }

  /** A 64 MiB Raspberry-Pi-like image: FAT p1, ext4 p2 with `blockSize` blocks. */
  piImage(name = 'pi.img', blockSize = 4096): string {
    const p2 = { start: 24576, sectors: 98304 };
    return this.file(name, 64 << 20, [
      [0, mbr([{ type: 0x0c, start: 8192, sectors: 16384 }, { type: 0x83, ...p2 }])],
      [p2.start * 512 + 1024, encodeSuperblock({ uuid: '11111111-2222-4333-8444-555555555555', blockSize, blockCount: (p2.sectors * 512) / blockSize })],
    ]);
  }

  extImage(name = 'rootfs.ext4'): string {
    return this.file(name, 32 << 20, [[1024, encodeSuperblock({ uuid: '99999999-2222-4333-8444-555555555555', blockSize: 4096, blockCount: 8192 })]]);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A fresh Sandbox per call, each cleaned up after the test that made it (also when it fails); call at a file's top level. */
export function sandboxPerTest(): () => Sandbox {
  const made: Sandbox[] = [];
  afterEach(() => {
    for (const s of made.splice(0)) s.cleanup();
  });
  return () => {
    const s = new Sandbox();
    made.push(s);
    return s;
  };
}

/** The run id: the first line `flow run` prints. */
/** Runs the shipped binary (dist/bin/flow.js, no test seam: the real kernel's flow) in the sandbox's directory, with its state and run directories. */
export function shipped(sb: Sandbox, args: string[]): Result {
  const r = spawnSync(process.execPath, [SHIPPED, ...args], {
    cwd: sb.dir,
    env: { PATH: process.env.PATH, FLOW_STATE_DIR: sb.stateDir, FLOW_RUN_DIR: sb.runDir },
    encoding: 'utf8',
    timeout: 600_000,
  });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function runId(r: Result): string {
  return r.stdout.split('\n')[0]!.trim();
}

/**
 * A sandbox whose state directory (runs/, locks/) and fake kernel exist already, so a
 * command that fails has nothing legitimate to create and any change is a finding.
 */
export async function preparedSandbox(): Promise<Sandbox> {
  const sb = new Sandbox();
  for (const d of [sb.stateDir, join(sb.stateDir, 'runs'), join(sb.stateDir, 'locks')]) mkdirSync(d, { mode: 0o700 });
  await openPersistedFakeKernel(sb.kernelFile, realFs);
  return sb;
}

/**
 * Every entry under `root` (the sandbox, state directory included) with its kind, mode,
 * size and mtime, except the fake kernel's state file: two equal listings mean no file or
 * directory was created, changed or removed.
 */
export function listing(sb: Sandbox, root = sb.dir): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (p === sb.kernelFile) continue;
      const st = lstatSync(p);
      const kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'link' : st.isFile() ? 'file' : 'other';
      out.push(`${relative(sb.dir, p)} ${kind} ${(st.mode & 0o7777).toString(8)} ${st.isDirectory() ? '' : st.size} ${st.mtimeMs}`);
      if (kind === 'dir') walk(p);
    }
  };
  walk(root);
  return out;
}

/** The fake kernel's state file as text ('' before it exists): equal texts mean the kernel was not changed. */
export function kernelText(sb: Sandbox): string {
  return existsSync(sb.kernelFile) ? readFileSync(sb.kernelFile, 'utf8') : '';
}

/**
 * A refusal in flow's form: exit `code`, nothing on stdout, "flow: <problem>" on the first
 * stderr line, the fix on the indented lines after it, no internal error.
 */
export function expectRefused(r: Result, problem: RegExp, hint: RegExp, code = 2): void {
  const [first, ...rest] = r.stderr.trimEnd().split('\n');
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(code);
  expect(r.stdout).toBe('');
  expect(first).toMatch(/^flow: /);
  expect(first).toMatch(problem);
  expect(rest.length, `no hint line in:\n${r.stderr}`).toBeGreaterThan(0);
  expect(rest.every((l) => l.startsWith('  ') && l.trim().length > 0), r.stderr).toBe(true);
  expect(rest.join('\n')).toMatch(hint);
  expect(r.stderr).not.toMatch(/internal error/);
}

/** Runs `act` (a refused command) and asserts the fake kernel and every file of the sandbox are as before. */
export function expectHostUnchanged(sb: Sandbox, act: () => void): void {
  const k = kernelText(sb);
  const files = listing(sb);
  act();
  expect(kernelText(sb)).toBe(k);
  expect(listing(sb)).toEqual(files);
}
