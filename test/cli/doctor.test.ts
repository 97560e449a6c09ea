/** `flow doctor`: what a user sees about the host and the state directory. */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { MAIN, runId, Sandbox, type Result } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const NO_DM = 'this kernel has no device-mapper; use a kernel with CONFIG_BLK_DEV_DM or run inside scripts/lab';
const doctorJson = z.object({
  ok: z.boolean(),
  checks: z.array(
    z.object({
      check: z.string().regex(/^[a-z0-9:.-]+$/),
      status: z.enum(['ok', 'warn', 'fail']),
      detail: z.string().min(1),
      fix: z.string().min(1).optional(),
      version: z.string().optional(),
    }),
  ),
});
type Report = z.infer<typeof doctorJson>;

/** `flow doctor --json` with the stand-in tools on PATH (`run`: how flow is started). */
function doctor(extra: Record<string, string> = {}, run: (args: string[], extra: Record<string, string>) => Result = (a, e) => sb.flow(a, e)) {
  const r = run(['doctor', '--json'], { PATH: standInPath(), ...extra });
  if (r.stdout === '') throw new Error(`doctor printed nothing (exit ${r.code}): ${r.stderr}`);
  const report = doctorJson.parse(JSON.parse(r.stdout));
  return { ...r, report, check: (name: string) => report.checks.find((c) => c.check === name) };
}
/** `flow doctor` (text) with the stand-in tools on PATH. */
const doctorText = (extra: Record<string, string> = {}) => sb.flow(['doctor'], { PATH: standInPath(), ...extra });

/**
 * Runs flow in a private mount namespace after `setup` (sh; mount and mknod by their
 * system path): what it mounts there is gone when flow exits, the host's own is untouched.
 */
function inNamespace(setup: string) {
  return (args: string[], extra: Record<string, string>): Result => {
    const script = `${setup} || exit 97; exec "$@"`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', process.execPath, MAIN, ...args], { cwd: sb.dir, env: sb.env(extra), encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
  };
}

/** The exit code follows the checks: 1 exactly when one failed; every warn and fail has a fix. */
function consistent(code: number | null, report: Report): void {
  const failed = report.checks.some((c) => c.status === 'fail');
  expect(code).toBe(failed ? 1 : 0);
  expect(report.ok).toBe(!failed);
  for (const c of report.checks) if (c.status !== 'ok') expect(c.fix, c.check).toBeTruthy();
}

/**
 * The tools doctor asks for a version, in its order, and what each stand-in
 * (test/fixtures/fake-tools/version-tools.sh: the real output, versions no real install
 * has) makes of it: the world of these tests, whatever this host has installed.
 */
const STAND_IN = fileURLToPath(new URL('../fixtures/fake-tools/version-tools.sh', import.meta.url));
const TOOL_CHECKS: [tool: string, detail: string, version: string][] = [
  ['losetup', 'losetup from util-linux 2.99.7', '2.99.7'],
  ['dmsetup', 'Library version: 1.02.999 (2030-01-01)', '1.02.999'],
  ['sfdisk', 'sfdisk from util-linux 2.99.7', '2.99.7'],
  ['blockdev', 'blockdev from util-linux 2.99.7', '2.99.7'],
  ['blkid', 'blkid from util-linux 2.99.7', '2.99.7'],
  ['mkfs.ext4', 'mke2fs 1.99.3 (1-Jan-2030)', '1.99.3'],
  ['resize2fs', 'resize2fs 1.99.3 (1-Jan-2030)', '1.99.3'],
  ['findmnt', 'findmnt from util-linux 2.99.7', '2.99.7'],
  ['mount', 'mount from util-linux 2.99.7', '2.99.7'],
  ['umount', 'umount from util-linux 2.99.7', '2.99.7'],
  ['flock', 'flock from util-linux 2.99.7', '2.99.7'],
];
/**
 * PATH with a stand-in for every tool but `missing` first. Every doctor here runs them,
 * never the host's own dmsetup, which would mknod a /dev/mapper/control on a host without
 * device-mapper (and change what test/unit/kernel/real-dm.test.ts sees).
 */
function standInPath(missing: string[] = []): string {
  const dir = join(sb.dir, ['tools', ...missing].join('-without-'));
  if (!existsSync(dir)) {
    mkdirSync(dir);
    for (const [tool] of TOOL_CHECKS) if (!missing.includes(tool)) symlinkSync(STAND_IN, join(dir, tool));
  }
  return `${dir}:${process.env.PATH ?? ''}`;
}
const toolChecks = (report: Report) => report.checks.filter((c) => c.check.startsWith('tool:'));

/**
 * Host facts doctor reports that the tests do not control, read up front (not from
 * doctor): the host tier needs zram (test/unit/kernel/real-host.test.ts); udev runs or not.
 */
const UDEV = existsSync('/run/udev/control')
  ? { check: 'udev', status: 'ok', detail: 'udev is running (/run/udev/control)' }
  : {
      check: 'udev',
      status: 'warn',
      detail: 'no running udev (/run/udev/control is missing): dmsetup creates /dev/mapper nodes itself, but /dev/disk/by-* links are not made',
      fix: 'start it: systemctl start systemd-udevd (inside a container, run flow on the host or in scripts/lab)',
    };
/** This kernel has device-mapper, loaded or loadable (as test/unit/kernel/real-dm.test.ts decides it). */
function kernelHasDeviceMapper(): boolean {
  if (/\bdevice-mapper\b/.test(readFileSync('/proc/misc', 'utf8')) || existsSync('/sys/module/dm_mod')) return true;
  const modules = `/lib/modules/${release()}`;
  return ['modules.dep', 'modules.builtin'].some((f) => existsSync(join(modules, f)) && /\/dm-mod\.ko/.test(readFileSync(join(modules, f), 'utf8')));
}

describe('flow doctor', () => {
  it('--json: root, each tool with the version it prints, dm, zram, udev, state dir; exit 0', () => {
    sb.flow(['list']); // creates the state directory
    const d = doctor({ PATH: standInPath() });
    expect(d.check('root')).toEqual({ check: 'root', status: 'ok', detail: 'running as root' });
    expect(toolChecks(d.report)).toEqual(TOOL_CHECKS.map(([tool, detail, version]) => ({ check: `tool:${tool}`, status: 'ok', detail, version })));
    // the persisted fake kernel answers the dm checks: they pass
    for (const t of ['dm:driver', 'dm:target:linear', 'dm:target:zero', 'dm:target:delay', 'dm:target:snapshot']) expect(d.check(t), t).toMatchObject({ status: 'ok' });
    expect(d.check('zram')).toEqual({ check: 'zram', status: 'ok', detail: 'zram module loaded (/sys/class/zram-control)' });
    expect(d.check('udev')).toEqual(UDEV);
    expect(d.check('state-dir')).toEqual({ check: 'state-dir', status: 'ok', detail: `${sb.stateDir}: owned by uid 0, not writable by group or others` });
    expect(d.check('temp-files')).toEqual({ check: 'temp-files', status: 'ok', detail: 'no temp files left by a dead writer' });
    expect(d.check('lock-files')).toEqual({ check: 'lock-files', status: 'ok', detail: 'every run lock file belongs to a run' });
    expect(d.check('journals')).toEqual({ check: 'journals', status: 'ok', detail: '0 run journals, none corrupt' });
    expect(d.check('unfinished-runs')).toEqual({ check: 'unfinished-runs', status: 'ok', detail: 'no unfinished run left without a flow process' });
    expect(d.code).toBe(0);
    consistent(d.code, d.report);
  });

  it('a tool that is not installed: fail with the package to install, exit 1', () => {
    // dmsetup lives in /usr/sbin, a directory flow always searches: hide that directory in
    // a private mount namespace (every other tool doctor runs is a stand-in on PATH)
    const hide = 'command -p mount -t tmpfs -o size=64k,mode=0755 flow-test-hide /usr/sbin && ' +
      '! PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin" command -v dmsetup';
    const d = doctor({ PATH: standInPath(['dmsetup']) }, inNamespace(hide));
    expect(d.stderr).toBe('');
    expect(toolChecks(d.report)).toEqual(
      TOOL_CHECKS.map(([tool, detail, version]) =>
        tool === 'dmsetup'
          ? { check: 'tool:dmsetup', status: 'fail', detail: 'dmsetup is not installed or not on PATH', fix: 'apt-get install dmsetup' }
          : { check: `tool:${tool}`, status: 'ok', detail, version },
      ),
    );
    expect(d.code).toBe(1);
    expect(d.report.ok).toBe(false);
  });

  it('no device-mapper (injected in the fake kernel): fail with the fix, exit 1', async () => {
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).injectFault({ op: 'dm.targets', code: 'ENOTSUP', times: 1, message: 'Failure to communicate with kernel device-mapper driver.' });
    const d = doctor();
    expect(d.code).toBe(1);
    expect(d.report.ok).toBe(false);
    expect(d.check('dm:driver')).toEqual({ check: 'dm:driver', status: 'fail', detail: 'device-mapper is not usable: Failure to communicate with kernel device-mapper driver.', fix: NO_DM });
    // the one-shot fault is spent: the next doctor finds the driver
    expect(doctorText().stdout).toMatch(/^ok {4}dm:driver/m);
  });

  // against this host's kernel and its real dmsetup, with /dev/mapper holding only a control
  // node (10:236) in a private mount namespace: as dmsetup leaves it, whatever the host's
  // /dev/mapper holds. One named outcome per kernel, decided up front; this host has none.
  const real = { PATH: process.env.PATH ?? '', FLOW_FAKE_KERNEL: '' };
  const mapper = inNamespace('command -p mount -t tmpfs -o size=64k,mode=0755 flow-test-mapper /dev/mapper && command -p mknod -m 600 /dev/mapper/control c 10 236');
  if (!kernelHasDeviceMapper()) {
    const detail = 'device-mapper is not usable: device-mapper is not available: this kernel has no device-mapper driver loaded (/proc/misc) and no dm-mod module';
    it("against this host's kernel (no device-mapper): dm:driver fails with flow's refusal (no driver in /proc/misc, no dm-mod module) and the fix, exit 1", () => {
      const d = doctor(real, mapper);
      expect(d.check('dm:driver')).toEqual({ check: 'dm:driver', status: 'fail', detail, fix: NO_DM });
      expect(d.check('dm:targets')).toEqual({ check: 'dm:targets', status: 'fail', detail: 'not checked: no device-mapper driver', fix: NO_DM });
      expect(d.code).toBe(1);
      consistent(d.code, d.report);
      const text = mapper(['doctor'], real);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(`FAIL  dm:driver            ${detail}\n                           fix: ${NO_DM}\n`);
      expect(text.stdout).toMatch(/flow cannot work here until the failed checks are fixed/);
    });
  } else {
    it("against this host's kernel (device-mapper): the dm driver check passes", () => {
      const d = doctor(real, mapper);
      expect(d.check('dm:driver')).toEqual({ check: 'dm:driver', status: 'ok', detail: expect.stringMatching(/^device-mapper driver present \(\d+ targets loaded\)$/) });
      consistent(d.code, d.report);
    });
  }

  it('a state directory writable by others (0777) is a failure with the fix; so is one owned by another user', () => {
    mkdirSync(sb.stateDir, { mode: 0o700 });
    chmodSync(sb.stateDir, 0o777);
    const d = doctor();
    expect(d.code).toBe(1);
    expect(d.check('state-dir')).toEqual({ check: 'state-dir', status: 'fail', detail: `${sb.stateDir} is writable by group or others (mode 0777)`, fix: `chmod 700 ${sb.stateDir}` });
    chmodSync(sb.stateDir, 0o700);
    chownSync(sb.stateDir, 4242, 4242);
    expect(doctor().check('state-dir')).toMatchObject({ status: 'fail', detail: `${sb.stateDir} is owned by uid 4242, not by this user (uid 0)`, fix: `chown 0 ${sb.stateDir}` });
    chownSync(sb.stateDir, 0, 0);
    // a subdirectory too
    sb.flow(['list']);
    chmodSync(join(sb.stateDir, 'runs'), 0o757);
    expect(doctor().check('state-dir')).toMatchObject({ status: 'fail', fix: `chmod 700 ${join(sb.stateDir, 'runs')}` });
  });

  it('a stale temp file is reported with its path and the fix; one a live writer holds is not', () => {
    sb.file('d.img', 64 << 20);
    const id = runId(sb.flow(['run', 'delayed-device', '--file', 'd.img', '--no-mount']));
    const stale = join(sb.stateDir, 'runs', `.${id}.json.999999999.1.tmp`);
    const live = join(sb.stateDir, 'runs', `.${id}.json.${process.pid}.1.tmp`);
    writeFileSync(stale, '{"format":1');
    writeFileSync(live, '{"format":1');
    const d = doctor();
    expect(d.check('temp-files')).toEqual({ check: 'temp-files', status: 'warn', detail: expect.stringContaining(stale), fix: `they never became a journal; remove them: rm -- ${stale}` });
    expect(d.check('temp-files')!.detail).not.toContain(live);
    expect(doctorText().stdout).toMatch(/^warn {2}temp-files +1 temp file left by a flow process that died/m);
  });

  it('lock files without a run, unfinished runs nobody holds, corrupt journals', async () => {
    sb.file('a.img', 64 << 20);
    sb.file('b.img', 64 << 20);
    sb.file('c.img', 64 << 20);
    const crashed = runId(sb.flow(['run', 'delayed-device', '--file', 'a.img', '--no-mount'], { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
    const live = runId(sb.flow(['run', 'delayed-device', '--file', 'b.img', '--no-mount'], { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
    const bad = runId(sb.flow(['run', 'delayed-device', '--file', 'c.img', '--no-mount']));
    writeFileSync(join(sb.stateDir, 'runs', `${bad}.json`), 'not json');
    const orphan = join(sb.stateDir, 'locks', 'run-zzzzzzzz.lock');
    writeFileSync(orphan, '');
    const lock = join(sb.stateDir, 'locks', `run-${live}.lock`);
    const holder = spawn('flock', ['--no-fork', lock, 'sleep', '60'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && spawnSync('flock', ['--nonblock', lock, 'true']).status === 0; i++) spawnSync('sleep', ['0.05']);
      const d = doctor();
      expect(d.code).toBe(1);
      expect(d.check('lock-files')).toMatchObject({ status: 'warn', detail: expect.stringContaining(orphan), fix: `harmless; remove them: rm -- ${orphan}` });
      expect(d.check('unfinished-runs')).toMatchObject({ status: 'warn', detail: expect.stringContaining(`${crashed} (running)`), fix: expect.stringContaining('flow recover') });
      expect(d.check('unfinished-runs')!.detail).not.toContain(live);
      expect(d.check('journals')).toMatchObject({ status: 'fail', detail: expect.stringContaining(`runs/${bad}.json is corrupt`) });
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.on('close', r));
    }
    // doctor changed nothing
    expect(readFileSync(join(sb.stateDir, 'runs', `${bad}.json`), 'utf8')).toBe('not json');
    expect(JSON.parse(sb.flow(['show', crashed, '--json']).stdout).status).toBe('running');
  });

  it('--help has examples and says what the exit code means', () => {
    const h = sb.flow(['doctor', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('flow doctor --json');
    expect(h.stdout).toContain('Exit code: 0 when no check failed');
  });
});
