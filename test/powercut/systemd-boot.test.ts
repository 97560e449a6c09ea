/**
 * flow-recover.service under the real systemd (Debian's, PID 1 of the lab's VM), after a
 * real power cut. Runs ON THE HOST, as root, and boots the lab twice (guest side:
 * systemd-guest.sh):
 *   boot 1  plain lab, the state disk at /var/lib/flow: run A (delayed-device) halts in
 *           create-delay after its dmsetup ran, run B (loop-mount) halts in mount after
 *           its intent, a file is left in B's new mount point; the power is cut
 *   boot 2  scripts/lab --systemd: flow installed as README's "Recovery at boot" says,
 *           flow-recover.service enabled, the state disk a late mount (fstab noauto: only
 *           what requires it mounts it), lab-probe.service ordered after flow-recover;
 *           the command (after multi-user.target) records what systemd and flow report,
 *           then plays the operator and starts the unit again; then the resume drop-in:
 *           run C, SIGKILLed inside a step, is finished by the unit
 *   npm run build && flock /work/lab.lock npx vitest run --project powercut test/powercut/systemd-boot.test.ts
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sh } from '../lab/real-host.js';

if (process.getuid?.() !== 0) throw new Error('this test boots the kernel lab: run it as root on the host (npx vitest run --project powercut)');

const T = mkdtempSync('/tmp/flow-sdboot-');
const share = join(T, 'share');
const disk = join(T, 'state.img');
const boots: string[] = [];
const t0 = Date.now();

interface ListItem {
  id: string;
  workflow: string;
  status: string;
  key?: string;
}

/** One boot of the lab; its exit status must be `expect` (137: the power was cut). */
function boot(what: string, args: string[], expectStatus: number): string {
  const start = Date.now();
  const argv = ['run', '-v', '--mem', '2048', '--timeout', '600', '--share', share, '--disk', disk, ...args];
  const r = spawnSync(join(ROOT, 'scripts/lab'), argv, { cwd: ROOT, encoding: 'utf8', timeout: 700_000 });
  const timing = /lab: (boot .*)$/m.exec(r.stderr)?.[1] ?? '';
  boots.push(`${what}: exit ${r.status}, ${((Date.now() - start) / 1000).toFixed(0)} s (${timing})`);
  if (r.status !== expectStatus) throw new Error(`scripts/lab ${argv.join(' ')} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stderr;
}

const read = (...p: string[]) => readFileSync(join(share, ...p), 'utf8');
/** `systemctl show -p A,B` output as an object */
const props = (...p: string[]) => Object.fromEntries(read(...p).trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const list = (...p: string[]) => JSON.parse(read(...p)) as ListItem[];
/** the loop devices in `losetup -J -l` output (empty output: none) */
const loops = (...p: string[]) => {
  const t = read(...p).trim();
  return t ? (JSON.parse(t) as { loopdevices: unknown[] }).loopdevices : [];
};
let A: string;
let B: string;

beforeAll(() => {
  // the state disk: ext4 (its root becomes /var/lib/flow) with lab/rootfs.ext4, B's input
  const content = join(T, 'content');
  mkdirSync(join(content, 'lab'), { recursive: true });
  sh(['truncate', '-s', '16M', join(content, 'lab/rootfs.ext4')]);
  sh(['mkfs.ext4', '-q', '-F', '-b', '4096', join(content, 'lab/rootfs.ext4')]);
  sh(['truncate', '-s', '256M', disk]);
  sh(['mkfs.ext4', '-q', '-F', '-b', '4096', '-d', content, disk]);
  mkdirSync(share);
  boot('cut (plain lab)', ['--disk-mount', '/var/lib/flow', '--power-cut-on', 'cut', '--', 'bash', 'test/powercut/systemd-guest.sh', 'cut'], 137);
  if (existsSync(join(share, 'cut.d/fatal'))) throw new Error(read('cut.d/fatal'));
  const runs = list('cut.d/list.json');
  A = runs.find((r) => r.workflow === 'delayed-device')!.id;
  B = runs.find((r) => r.workflow === 'loop-mount')!.id;
  boot('systemd as PID 1', ['--systemd', '--setup', 'test/powercut/systemd-guest.sh', '--', 'bash', 'test/powercut/systemd-guest.sh', 'check'], 0);
}, 1_500_000);

afterAll(() => {
  console.log(['', `systemd boot test (real kernel, ${boots.length} boots, ${((Date.now() - t0) / 1000).toFixed(0)} s in all):`, ...boots.map((b) => `  boot ${b}`)].join('\n'));
  if (process.env.FLOW_POWERCUT_KEEP) console.log(`kept ${T}`);
  else rmSync(T, { recursive: true, force: true });
});

describe('flow-recover.service with systemd as PID 1, after a power cut', () => {
  it('the power was cut with both runs inside a step (A with its device-mapper device made)', () => {
    expect(list('cut.d/list.json').map((r) => r.status).sort()).toEqual(['running', 'running']);
    expect(read('cut.d/a.halted').trim()).toBe('apply:create-delay:command-done');
    expect(read('cut.d/b.halted').trim()).toBe('apply:mount:intent-synced');
    expect(read('cut.d/before-cut.dmsetup')).toContain(`flow-${A}`);
  });

  it('a unit ordered after it starts only once the runs are settled: A rolled back, B waiting for an operator, its state disk mounted', () => {
    expect(read('probe/findmnt').trim()).toBe('/dev/vda');
    expect(props('probe/recover-state')).toEqual({ ActiveState: 'failed', Result: 'exit-code', ExecMainStatus: '3' });
    const runs = list('probe/list.json');
    expect(runs.find((r) => r.id === A)?.status).toBe('rolled-back');
    expect(runs.find((r) => r.id === B)?.status).toBe('needs-operator');
    // A's file is gone (its rollback), B's mount point is kept (something is left in it)
    expect(read('probe/files').split('\n').filter(Boolean).sort()).toEqual(['mnt', 'rootfs.ext4']);
    const recover = props('check/recover-show');
    const probe = props('check/probe-show');
    expect(probe.Result).toBe('success');
    expect(Number(recover.ExecMainExitTimestampMonotonic)).toBeGreaterThan(0);
    expect(Number(probe.ExecMainStartTimestampMonotonic)).toBeGreaterThanOrEqual(Number(recover.ExecMainExitTimestampMonotonic));
  });

  it('systemctl show and journalctl -b -u flow-recover.service tell what happened; the state disk is required and ordered before it', () => {
    expect(props('check/recover-show')).toMatchObject({ Result: 'exit-code', ExecMainStatus: '3', ActiveState: 'failed' });
    const journal = read('check/journal');
    expect(journal).toContain(`run ${A} (delayed-device, was running)`);
    expect(journal).toContain(`run ${A}: rolled-back`);
    expect(journal).toContain(`run ${B} needs an operator at step make-mountpoint`);
    expect(journal).toContain(`flow resolve ${B} --step make-mountpoint`);
    expect(journal).toMatch(/recover: 2 unfinished runs, 1 settled, 1 not/);
    const deps = props('check/recover-deps');
    expect(deps.Requires!.split(' ')).toContain('var-lib-flow.mount');
    expect(deps.After!.split(' ')).toContain('var-lib-flow.mount');
  });

  it('systemctl --failed lists it; nothing of the runs is left in the kernel', () => {
    expect(read('check/failed')).toMatch(/^flow-recover\.service\s+loaded\s+failed\s+failed/m);
    expect(read('check/kernel.dmsetup').trim()).toBe('No devices found');
    expect(loops('check/kernel.losetup')).toEqual([]);
  });

  it('once the operator removed what was left, starting the unit again settles B: success, nothing failed, nothing left', () => {
    expect(read('check/restart.rc').trim()).toBe('0');
    expect(props('check/restart-show')).toEqual({ Result: 'success', ExecMainStatus: '0' });
    expect(read('check/restart-failed').trim()).toBe('');
    expect(read('check/restart-journal')).toContain(`run ${B}: rolled-back`);
    expect(list('check/restart-list.json').filter((r) => r.id === A || r.id === B).map((r) => r.status)).toEqual(['rolled-back', 'rolled-back']);
    expect(read('check/restart-files').split('\n').filter(Boolean)).toEqual(['rootfs.ext4']);
    expect(read('check/restart-kernel.dmsetup').trim()).toBe('No devices found');
    expect(loops('check/restart-kernel.losetup')).toEqual([]);
  });

  it('flow-run@.service provisions a workflow at boot, after flow-recover, once per key: started again it finds the run done and changes nothing', () => {
    const show = props('unit/show');
    expect(show).toMatchObject({ Result: 'success', ExecMainStatus: '0', ActiveState: 'active' });
    expect(Number(show.ExecMainStartTimestampMonotonic)).toBeGreaterThanOrEqual(Number(props('check/recover-show').ExecMainExitTimestampMonotonic));
    const runs = list('unit/list.json').filter((r) => r.key === 'scratch');
    expect(runs.map((r) => [r.workflow, r.status])).toEqual([['ram-scratch', 'done']]);
    const id = runs[0]!.id;
    expect(read('unit/journal')).toContain(`run ${id}: done`);
    expect(read('unit/mounts')).toMatch(new RegExp(`^/dev/zram\\d+ \\S*/${id}/mnt$`, 'm'));
    expect(read('unit/restart.rc').trim()).toBe('0');
    expect(read('unit/restart-journal')).toContain(`run ${id} with --key "scratch" is already done; nothing changed`);
    expect(list('unit/restart-list.json').filter((r) => r.key === 'scratch').map((r) => [r.id, r.status])).toEqual([[id, 'done']]);
  });

  it('with the resume drop-in (systemd/flow-recover-resume.conf) the unit finishes a run stopped inside a step: done, its delay device in place', () => {
    expect(existsSync(join(share, 'resume/fatal')), 'run C halted').toBe(false);
    expect(read('resume/start.rc').trim()).toBe('0');
    const show = props('resume/show');
    expect(show).toMatchObject({ Result: 'success', ExecMainStatus: '0' });
    expect(show.ExecStart).toContain('recover --policy resume');
    const C = list('resume/list.json').find((r) => r.workflow === 'delayed-device' && r.id !== A)!;
    expect(C.status).toBe('done');
    expect(read('resume/journal')).toContain(`run ${C.id}: done`);
    expect(read('resume/dmtable')).toMatch(new RegExp(`^flow-${C.id}: 0 32768 delay `, 'm'));
  });
});
