/** `flow doctor`: what a user sees about the host and the state directory. */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { runId, Sandbox } from './harness.js';

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

function doctor(extra: Record<string, string> = {}) {
  const r = sb.flow(['doctor', '--json'], extra);
  const report = doctorJson.parse(JSON.parse(r.stdout));
  return { ...r, report, check: (name: string) => report.checks.find((c) => c.check === name) };
}

/** The exit code follows the checks: 1 exactly when one failed; every warn and fail has a fix. */
function consistent(code: number | null, report: Report): void {
  const failed = report.checks.some((c) => c.status === 'fail');
  expect(code).toBe(failed ? 1 : 0);
  expect(report.ok).toBe(!failed);
  for (const c of report.checks) if (c.status !== 'ok') expect(c.fix, c.check).toBeTruthy();
}

/** As exec.ts looks for tools: PATH plus the sbin directories. */
const installed = (tool: string) => spawnSync('sh', ['-c', `PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin" command -v ${tool}`]).status === 0;
const TOOLS = ['losetup', 'dmsetup', 'sfdisk', 'blockdev', 'mkfs.ext4', 'resize2fs', 'findmnt', 'flock'];

describe('flow doctor', () => {
  it('--json: root, each tool with its version, dm, zram, udev, state dir; exit code follows the checks', () => {
    sb.flow(['list']); // creates the state directory
    const d = doctor();
    consistent(d.code, d.report);
    expect(d.check('root')).toMatchObject({ status: 'ok' });
    for (const t of TOOLS) {
      const c = d.check(`tool:${t}`)!;
      if (installed(t)) expect(c, t).toMatchObject({ status: 'ok', version: expect.stringMatching(/^\d+\.\d+/) });
      else expect(c, t).toMatchObject({ status: 'fail', detail: `${t} is not installed or not on PATH`, fix: expect.stringMatching(/^apt-get install /) });
    }
    expect(d.check('tool:losetup')!.detail).toMatch(/^losetup from util-linux \d/);
    expect(d.check('tool:flock')!.detail).toMatch(/^flock from util-linux \d/);
    // the persisted fake kernel answers the dm checks: they pass
    for (const t of ['dm:driver', 'dm:target:linear', 'dm:target:zero', 'dm:target:delay', 'dm:target:snapshot']) expect(d.check(t), t).toMatchObject({ status: 'ok' });
    for (const t of ['zram', 'udev', 'state-dir', 'temp-files', 'lock-files', 'journals', 'unfinished-runs']) expect(d.check(t), t).toBeDefined();
    expect(d.check('state-dir')).toMatchObject({ status: 'ok' });
  });

  it('no device-mapper (injected in the fake kernel): fail with the fix, exit 1', async () => {
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).injectFault({ op: 'dm.targets', code: 'ENOTSUP', times: 1, message: 'Failure to communicate with kernel device-mapper driver.' });
    const d = doctor();
    expect(d.code).toBe(1);
    expect(d.report.ok).toBe(false);
    expect(d.check('dm:driver')).toEqual({ check: 'dm:driver', status: 'fail', detail: expect.stringContaining('device-mapper is not usable'), fix: NO_DM });
    // the one-shot fault is spent: the next doctor finds the driver
    expect(sb.flow(['doctor']).stdout).toMatch(/^ok {4}dm:driver/m);
  });

  it("against this host's kernel: the dm check matches the host (no device-mapper here: fail with the fix)", () => {
    const hasDm = /\bdevice-mapper\b/.test(readFileSync('/proc/misc', 'utf8'));
    const d = doctor({ FLOW_FAKE_KERNEL: '' });
    consistent(d.code, d.report);
    if (hasDm) expect(d.check('dm:driver')).toMatchObject(installed('dmsetup') ? { status: 'ok' } : { status: 'fail', fix: 'apt-get install dmsetup' });
    else {
      expect(d.code).toBe(1);
      expect(d.check('dm:driver')).toMatchObject({ status: 'fail', fix: NO_DM });
      const text = sb.flow(['doctor'], { FLOW_FAKE_KERNEL: '' });
      expect(text.code).toBe(1);
      expect(text.stdout).toMatch(/^FAIL {2}dm:driver .*device-mapper is not usable/m);
      expect(text.stdout).toContain(`fix: ${NO_DM}`);
      expect(text.stdout).toMatch(/flow cannot work here until the failed checks are fixed/);
    }
  });

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
    expect(sb.flow(['doctor']).stdout).toMatch(/^warn {2}temp-files +1 temp file left by a flow process that died/m);
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
