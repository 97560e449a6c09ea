/**
 * The shipped binary (dist/bin/flow.js, package.json's bin) has no test switch: with any
 * of them set it does exactly what it does without, on this host's real kernel (a real
 * `flow run loop-mount --read-only`: a loop device and a mount, then `flow rollback`), and
 * its bundle does not even contain the switches' names (nor the fake kernel, but in `flow
 * verify`'s own chunk). Each switch is also given to the
 * test entry (dist/test/flow.js) on the same command, which must obey it: a misspelt or
 * renamed switch cannot let the shipped half pass for nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_ONLY_VARIABLES } from '../../src/testing/switches.js';
import { Sandbox, SHIPPED, TEST_ENTRY } from './harness.js';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

let sb: Sandbox;
let image: string;
beforeEach(() => {
  sb = new Sandbox();
  image = join(sb.dir, 'rootfs.ext4');
  writeFileSync(image, '');
  spawnSync('truncate', ['-s', '16M', image]);
  const mkfs = spawnSync('mkfs.ext4', ['-q', '-F', '-b', '4096', image], { encoding: 'utf8' });
  expect(mkfs.status, mkfs.stderr).toBe(0);
});

afterEach(() => {
  // only what this test made: mounts under its sandbox, loops on its image
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((t): t is string => !!t && t.startsWith(sb.dir + '/'));
  for (const t of mounts.sort().reverse()) spawnSync('umount', [t]);
  for (const loop of loopsOf(image)) spawnSync('losetup', ['-d', loop]);
  sb.cleanup();
});

/** The loop devices the real kernel has bound to `file`. */
function loopsOf(file: string): string[] {
  const r = spawnSync('losetup', ['-j', file, '-O', 'NAME', '-n'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, LANG: 'C.UTF-8', FLOW_STATE_DIR: sb.stateDir, FLOW_RUN_DIR: sb.runDir, ...extra };
}

/** One CLI process to its end: a switch that blocks (a pause, a halt) is killed after a minute and fails the test. */
function cli(main: string, args: string[], extra: Record<string, string> = {}, wrap: string[] = []): Run {
  const t0 = Date.now();
  const argv = [...wrap, process.execPath, main, ...args];
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: sb.dir, env: env(extra), encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

const RUN = () => ['run', 'loop-mount', '--file', image, '--read-only'];
const idOf = (r: Run) => r.stdout.split('\n')[0]!.trim();

/** The run went through, untouched by any switch: done, on the real kernel, no crash line. */
function expectDone(r: Run): string {
  const id = idOf(r);
  expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: 0, signal: null });
  expect(r.stdout).toContain(`run ${id}: done\n`);
  expect(r.stderr).toBe('');
  expect(loopsOf(image)).toHaveLength(1);
  return id;
}

/** Rolls back `id` with the shipped binary (also a run a test-entry switch killed), untouched by `extra`: nothing is left. */
function rollBack(id: string, extra: Record<string, string> = {}): void {
  const r = cli(SHIPPED, ['rollback', id], extra);
  expect({ code: r.code, signal: r.signal, stderr: r.stderr }, r.stdout).toEqual({ code: 0, signal: null, stderr: '' });
  expect(r.stdout).toContain(`run ${id}: rolled-back\n`);
  expect(loopsOf(image)).toEqual([]);
}

/** Every file under `dir`, with its text. */
function files(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isFile())
    .map((p) => ({ path: p, text: readFileSync(p, 'utf8') }));
}

describe('the shipped bundle', () => {
  it('contains no test switch name and no test-only module; the test build has every name', () => {
    const shipped = files(join(SHIPPED, '..'));
    expect(shipped.some((f) => f.path.endsWith('.map'))).toBe(true);
    for (const name of TEST_ONLY_VARIABLES) expect(shipped.filter((f) => f.text.includes(name)).map((f) => relative(sb.dir, f.path)), name).toEqual([]);
    // what each map says the bundle was made of
    const maps = shipped.filter((f) => f.path.endsWith('.map')).map((f) => ({ path: f.path, sources: (JSON.parse(f.text) as { sources: string[] }).sources }));
    const sources = maps.flatMap((m) => m.sources);
    expect(sources.some((s) => s.endsWith('src/app.ts'))).toBe(true);
    expect(sources.filter((s) => /src\/testing\//.test(s))).toEqual([]);
    // the fake kernel only in `flow verify`'s own chunk (it runs workflows in memory), never where run or plan could reach it
    const fake = maps.filter((m) => m.sources.some((s) => /src\/kernel\/fake\//.test(s))).map((m) => relative(join(SHIPPED, '..'), m.path));
    expect(fake).toEqual(['chunks/verify.js.map']);
    const test = files(join(TEST_ENTRY, '..')).map((f) => f.text).join('\n');
    for (const name of TEST_ONLY_VARIABLES) expect(test, name).toContain(name);
  });
});

describe('the shipped flow ignores each test switch', () => {
  it('FLOW_CRASH_AT=<point of the run>: the run is not killed there', () => {
    // a point after the loop's outcome is durable: a kill between the command and that outcome
    // leaves a loop flow rightly cannot tell from another program's (the rollback would stop for the operator)
    const crash = { FLOW_CRASH_AT: 'apply:attach-file:outcome-synced' };
    rollBack(expectDone(cli(SHIPPED, RUN(), crash)));
    const t = cli(TEST_ENTRY, RUN(), crash);
    expect(t.signal, t.stderr).toBe('SIGKILL');
    expect(t.stderr).toContain('crash-kill apply:attach-file:outcome-synced flow-alone');
    rollBack(idOf(t));
  });

  it('FLOW_CRASH_AT=<point of the rollback>: the rollback is not killed there', () => {
    const crash = { FLOW_CRASH_AT: 'undo:attach-file:command-done' };
    rollBack(expectDone(cli(SHIPPED, RUN())), crash);
    const id = expectDone(cli(SHIPPED, RUN()));
    const t = cli(TEST_ENTRY, ['rollback', id], crash);
    expect(t.signal, t.stderr).toBe('SIGKILL');
    rollBack(id);
  });

  it('FLOW_CRASH_AT=list: no crash point is printed', () => {
    rollBack(expectDone(cli(SHIPPED, RUN(), { FLOW_CRASH_AT: 'list' })), { FLOW_CRASH_AT: 'list' });
    const t = cli(TEST_ENTRY, RUN(), { FLOW_CRASH_AT: 'list' });
    expect(t.stderr).toContain('crash-point apply:attach-file:before-intent\n');
    rollBack(idOf(t));
  });

  it('FLOW_CRASH_CHILD: flow is not killed while its command runs', () => {
    const crash = { FLOW_CRASH_AT: 'apply:mount:command-running', FLOW_CRASH_CHILD: '1' };
    rollBack(expectDone(cli(SHIPPED, RUN(), crash)));
    const t = cli(TEST_ENTRY, RUN(), crash);
    expect(t.signal, t.stderr).toBe('SIGKILL');
    expect(t.stderr).toMatch(/^crash-kill apply:mount:command-running flow-alone child \d+ mount /m);
    rollBack(idOf(t));
  });

  it("FLOW_CRASH_GROUP: neither flow nor its command's process group is killed", () => {
    const crash = { FLOW_CRASH_AT: 'apply:mount:command-running', FLOW_CRASH_CHILD: '1', FLOW_CRASH_GROUP: '1' };
    rollBack(expectDone(cli(SHIPPED, RUN(), crash)));
    const t = cli(TEST_ENTRY, RUN(), crash);
    expect(t.signal, t.stderr).toBe('SIGKILL');
    expect(t.stderr).toMatch(/^crash-kill apply:mount:command-running group child \d+ mount /m);
    rollBack(idOf(t));
  });

  it('FLOW_PAUSE_AT: no pause (an hour asked for; the test entry holds 1.5 s)', () => {
    rollBack(expectDone(cli(SHIPPED, RUN(), { FLOW_PAUSE_AT: 'apply:attach-file:command-done:3600000' })));
    const t = cli(TEST_ENTRY, RUN(), { FLOW_PAUSE_AT: 'apply:attach-file:command-done:1500' });
    expectDone(t);
    expect(t.ms).toBeGreaterThanOrEqual(1500);
    rollBack(idOf(t));
  });

  it('FLOW_HALT_AT with FLOW_HALT_MARKER: no halt, no marker', async () => {
    const marker = join(sb.dir, 'halted');
    const halt = { FLOW_HALT_AT: 'apply:attach-file:outcome-synced', FLOW_HALT_MARKER: marker };
    rollBack(expectDone(cli(SHIPPED, RUN(), halt)));
    expect(existsSync(marker)).toBe(false);
    const id = await halted(halt, () => existsSync(marker));
    expect(readFileSync(marker, 'utf8')).toBe('apply:attach-file:outcome-synced\n');
    rollBack(id);
  });

  it('FLOW_HALT_AT with FLOW_LAB_SHARE (the default marker directory): no halt, no marker', async () => {
    const share = join(sb.dir, 'share');
    mkdirSync(share);
    const halt = { FLOW_HALT_AT: 'apply:attach-file:outcome-synced', FLOW_LAB_SHARE: share };
    rollBack(expectDone(cli(SHIPPED, RUN(), halt)));
    expect(readdirSync(share)).toEqual([]);
    rollBack(await halted(halt, () => readdirSync(share).some((n) => n.startsWith('flow-halted.'))));
  });

  it('FLOW_DISABLE_SYNC: every fsync is made (strace counts them)', () => {
    const traced = (main: string, extra: Record<string, string>) => {
      const out = join(sb.dir, `strace.${Date.now()}`);
      const r = cli(main, RUN(), extra, ['strace', '-f', '-qq', '-o', out, '-e', 'trace=fsync,fdatasync']);
      const n = readFileSync(out, 'utf8').split('\n').filter((l) => /\b(fsync|fdatasync)\(/.test(l)).length;
      return { r, n };
    };
    const all = { FLOW_DISABLE_SYNC: 'doc-file,doc-dir,state-dir' };
    expect(cli(SHIPPED, ['list']).code).toBe(0); // the state directory exists from here on: both runs find it
    const mutant = traced(SHIPPED, all);
    rollBack(expectDone(mutant.r));
    const plain = traced(SHIPPED, {});
    rollBack(expectDone(plain.r));
    expect(plain.n).toBeGreaterThan(0);
    expect(mutant.n).toBe(plain.n);
    const t = traced(TEST_ENTRY, all);
    rollBack(expectDone(t.r));
    expect(t.n).toBeLessThan(plain.n);
  });

  it('FLOW_FAKE_KERNEL: the real kernel; the file is neither read nor created', () => {
    const missing = join(sb.dir, 'kernel.json');
    const garbage = join(sb.dir, 'garbage.json');
    writeFileSync(garbage, 'not a kernel');
    rollBack(expectDone(cli(SHIPPED, RUN(), { FLOW_FAKE_KERNEL: missing })), { FLOW_FAKE_KERNEL: missing });
    rollBack(expectDone(cli(SHIPPED, RUN(), { FLOW_FAKE_KERNEL: garbage })), { FLOW_FAKE_KERNEL: garbage });
    const plan = cli(SHIPPED, ['plan', 'loop-mount', '--file', image, '--read-only', '--json'], { FLOW_FAKE_KERNEL: garbage });
    expect(plan.code, plan.stderr).toBe(0);
    // doctor asks this host's device-mapper, not a fake kernel's: the same as without the switch
    const dm = (r: Run) => (JSON.parse(r.stdout) as { checks: { check: string; status: string; detail: string }[] }).checks.filter((c) => c.check.startsWith('dm:'));
    const doctor = dm(cli(SHIPPED, ['doctor', '--json'], { FLOW_FAKE_KERNEL: missing }));
    expect(doctor.length).toBeGreaterThan(0);
    expect(doctor).toEqual(dm(cli(SHIPPED, ['doctor', '--json'])));
    expect(existsSync(missing)).toBe(false);
    expect(readFileSync(garbage, 'utf8')).toBe('not a kernel');
    // the test entry opens both: it creates the missing one (and runs on it) and refuses the garbage
    const t = cli(TEST_ENTRY, RUN(), { FLOW_FAKE_KERNEL: missing });
    expect(t.code, t.stderr).toBe(0);
    expect(existsSync(missing)).toBe(true);
    expect(loopsOf(image)).toEqual([]);
    const g = cli(TEST_ENTRY, RUN(), { FLOW_FAKE_KERNEL: garbage });
    expect(g.code).not.toBe(0);
    expect(g.stderr).toContain(`fake kernel state ${garbage} unreadable`);
  });
});

/**
 * Starts the test entry with a halt switch, waits (up to a minute) until `isHalted` says
 * it has halted, then SIGKILLs it (a halted flow blocks forever); returns the run id.
 */
async function halted(extra: Record<string, string>, isHalted: () => boolean): Promise<string> {
  const child = spawn(process.execPath, [TEST_ENTRY, ...RUN()], { cwd: sb.dir, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_c, s) => resolve(s)));
  const t0 = Date.now();
  try {
    while (!isHalted()) {
      if (child.exitCode !== null) throw new Error(`the test entry ended (exit ${child.exitCode}) instead of halting:\n${out}\n${err}`);
      if (Date.now() - t0 > 60_000) throw new Error(`the test entry did not halt within a minute:\n${out}\n${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(child.exitCode).toBeNull();
  } finally {
    child.kill('SIGKILL');
  }
  expect(await closed).toBe('SIGKILL');
  return out.split('\n')[0]!.trim();
}
