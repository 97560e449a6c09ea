/**
 * `flow verify`: the crash matrices for a workflow and its options, in memory. The shipped
 * binary verifies the built-ins (figures, --json) and changes nothing on this host; a host
 * whose filesystem drops the journal's directory fsync (injected in-process, never a
 * switch of the binary) is not verified: findings, exit 5, and the progress line on a
 * terminal.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { findWorkflow } from '../../machines/index.js';
import { verifyCommand } from '../../src/cli/commands/verify-command.js';
import { exitCodeOf } from '../../src/cli/exit.js';
import { STEP_POINTS } from '../../src/engine/crash-points.js';
import { VerifyFailedError } from '../../src/errors.js';
import { exportTempSubject, PARENT_ID } from '../../src/verify/export-temp.js';
import { ID } from '../../src/verify/operator.js';
import { startRun } from '../../src/verify/subject.js';
import { SimWorld } from '../../src/verify/world.js';
import { loadedSubject } from '../../src/verify/builtin.js';
import { loadWorkflow } from '../../src/workflow/source.js';
import { Sandbox, shipped } from './harness.js';

/** Both workflows verified here have one loop.attach: another program's loop at each of its points, × process crash / power cut × resume / rollback. */
const FOREIGN_RUNS = STEP_POINTS.length * 4;

const sb = new Sandbox();
afterAll(() => sb.cleanup());

/** The loop devices this host's kernel has on `file`. */
function loopsOf(file: string): string[] {
  const r = spawnSync('losetup', ['-j', file, '-O', 'NAME', '-n'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean);
}

/** Every run has STEP_POINTS per step plus the 3 of its start; a rollback STEP_POINTS per step with an inverse. */
function expectConsistent(j: { steps: number; points: { enumerated: number; tried: number }; runs: number; resumed: number; rolledBack: number; alreadyClean: number }) {
  const P = STEP_POINTS.length;
  const forward = 3 + P * j.steps;
  const undo = j.points.enumerated - forward;
  expect(undo % P).toBe(0);
  expect(undo).toBeGreaterThan(0);
  expect(j.points.tried).toBe(j.points.enumerated);
  // each forward point: process crash and power cut, each resumed and rolled back; each undo point: both crashes
  expect(j.runs).toBe(forward * 4 + undo * 2);
  // a resume is followed by a rollback; a crash in recovery is recovered again
  expect(j.resumed + j.rolledBack + j.alreadyClean).toBeGreaterThanOrEqual(j.runs);
}

describe('flow verify', () => {
  test('delayed-device: figures, every point tried, exit 0; nothing on this host changed', () => {
    const file = join(sb.dir, 'slow.img');
    const r = shipped(sb, ['verify', 'delayed-device', '--file', file, '--size', '64M', '--delay', '100']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toBe(''); // no progress line: stderr is not a terminal
    const m = /^flow verify delayed-device: (\d+) steps, in memory/m.exec(r.stdout);
    expect(m).not.toBeNull();
    const points = /^ {2}crash points +(\d+) enumerated \/ (\d+) tried$/m.exec(r.stdout)!;
    expect(Number(points[1])).toBeGreaterThan(0);
    expect(points[2]).toBe(points[1]);
    expect(r.stdout).toMatch(/^ {2}runs +\d+ \(crash, then resume or rollback; \d+ crashed again during recovery\)$/m);
    expect(r.stdout).toMatch(/^ {2}recoveries +resumed \d+, rolled back \d+, already clean \d+$/m);
    expect(r.stdout).toMatch(new RegExp(`^ {2}foreign objects +${FOREIGN_RUNS} runs with another program's device in the window, \\d+ with another process's file or directory in the way$`, 'm'));
    expect(r.stdout).toMatch(/^ {2}violations +0\n {2}leaks +0\nverified in [\d.]+ s: every crash point resumes and rolls back exactly\n$/m);
    // in memory only: no file where the workflow makes one, no state directory, no loop device
    expect(existsSync(file)).toBe(false);
    expect(existsSync(sb.stateDir)).toBe(false);
    expect(readdirSync(sb.dir)).toEqual([]);
    expect(loopsOf(file)).toEqual([]);
  }, 600_000);

  test('--json: the figures as one object; an existing image, named through a symbolic link, is read, never written', () => {
    const image = sb.extImage();
    const before = spawnSync('sha256sum', [image], { encoding: 'utf8' }).stdout;
    mkdirSync(join(sb.dir, 'images'));
    symlinkSync('../rootfs.ext4', join(sb.dir, 'images', 'current.ext4'));
    const r = shipped(sb, ['verify', 'loop-mount', '--file', 'images/current.ext4', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j).sort()).toEqual(
      ['alreadyClean', 'findings', 'foreignDevices', 'foreignFiles', 'leaks', 'ok', 'operatorStops', 'points', 'recoveryCrashes', 'resumed', 'rolledBack', 'runs', 'seconds', 'steps', 'violations', 'workflow'].sort(),
    );
    expect(j).toMatchObject({ workflow: 'loop-mount', ok: true, violations: 0, leaks: 0, findings: [], foreignDevices: { runs: FOREIGN_RUNS } });
    expectConsistent(j);
    expect(j.foreignFiles.planted).toBeGreaterThan(0);
    expect(spawnSync('sha256sum', [image], { encoding: 'utf8' }).stdout).toBe(before);
    expect(loopsOf(image)).toEqual([]);
  }, 600_000);

  test("exec-binds (flow exec's own workflow): the host's /dev, /dev/pts, /proc, /sys and /etc/resolv.conf bound into a root verify; nothing mounted on this host", () => {
    const root = join(sb.dir, 'image-root');
    for (const d of ['dev/pts', 'proc', 'sys', 'etc']) mkdirSync(join(root, d), { recursive: true });
    writeFileSync(join(root, 'etc', 'resolv.conf'), 'nameserver 192.0.2.1\n');
    const r = shipped(sb, ['verify', 'exec-binds', '--root', root, '--json']);
    expect(r.code, r.stderr + r.stdout.slice(0, 2000)).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ workflow: 'exec-binds', steps: 5, ok: true, violations: 0, leaks: 0 });
    expectConsistent(j);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(root);
  }, 600_000);

  test('flow verify --help lists exec-binds (verifiable, though flow exec runs it), and flow help verify is the same', () => {
    const r = shipped(sb, ['verify', '--help']);
    expect(r.code).toBe(0);
    const workflows = r.stdout.slice(r.stdout.indexOf('\nWorkflows:\n'), r.stdout.indexOf('\n\nExamples:'));
    expect(workflows.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[0])).toEqual(['Workflows:', 'snapshot-image', 'delayed-device', 'loop-mount', 'pi-image', 'exec-binds', 'export-temp', './FILE.yaml']);
    expect(workflows).toContain("  exec-binds       flow exec's own workflow: the host's /dev, /proc, /sys and resolv.conf bound into a run's mounted root (flow verify exec-binds --root DIR)");
    expect(shipped(sb, ['help', 'verify']).stdout).toBe(r.stdout);
  });

  test("export-temp (flow export's own workflow) in its built-in world: every point resumed and rolled back exactly, 0 violations, 0 leaks", () => {
    const r = shipped(sb, ['verify', 'export-temp', '--json']);
    expect(r.code, r.stderr + r.stdout.slice(0, 2000)).toBe(0);
    const j = JSON.parse(r.stdout);
    // file.create then fs.freeze, each undone by the rollback (the file removed, the mount thawed)
    expect(j).toMatchObject({ workflow: 'export-temp', steps: 2, ok: true, violations: 0, leaks: 0, findings: [] });
    expectConsistent(j);
    expect(j.resumed).toBeGreaterThan(0);
    expect(j.rolledBack).toBeGreaterThan(0);
    // another process's file at the temporary name, at each point of file.create
    expect(j.foreignFiles.planted).toBeGreaterThan(0);
    // in memory only: no state directory on this host
    expect(existsSync(sb.stateDir)).toBe(false);
  }, 600_000);

  test("export-temp's world: the export run freezes the parent's mount, its rollback thaws it; a power cut's boot rebuilds the parent run before the export run is recovered", async () => {
    const sub = exportTempSubject();
    const w = SimWorld.create();
    await sub.setup(w);
    const mnt = `/run/flow/${PARENT_ID}/mnt`;
    const frozen = () => w.kernel.snapshotState().mounts.find((m) => m.target === mnt)?.frozen;
    expect(w.kernel.snapshotState().mounts.find((m) => m.target === mnt)).toMatchObject({ fstype: 'ext4' });
    expect(frozen()).toBeUndefined();
    expect(await startRun(w, sub, ID)).toMatchObject({ phase: 'done' });
    expect(frozen()).toBe(true);
    expect(w.tree()).toHaveProperty([`/img/.exported.img.flow-export-${ID}.tmp`]);
    await w.powerCut();
    expect(w.kernel.snapshotState().mounts.find((m) => m.target === mnt)).toBeUndefined();
    await sub.afterBoot(w);
    expect(frozen()).toBeUndefined();
    expect(await (await w.runner()).rollback(ID)).toMatchObject({ phase: 'rolled-back' });
    expect(frozen()).toBeUndefined();
    expect(w.tree()).not.toHaveProperty([`/img/.exported.img.flow-export-${ID}.tmp`]);
  });

  test('bad options: exit 2 with the same refusal as flow run', () => {
    const r = shipped(sb, ['verify', 'loop-mount', '--file', join(sb.dir, 'missing.img')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^flow: --file .*missing\.img does not exist\n {2}check the path/);
  });

  test('a host that drops the journal directory fsync: violations, exit 5, and a progress line on a terminal', async () => {
    const image = sb.extImage('lossy.ext4');
    // what `flow verify loop-mount` verifies: the built-in's file, through the generic preflight
    const loaded = await loadWorkflow('loop-mount', { etcDir: join(sb.dir, 'no-etc') });
    const sub = loadedSubject(loaded, findWorkflow('loop-mount')!.options, { file: image }, sb.dir);
    const setup = sub.setup;
    // the fault, injected in-process: every world of this host loses the directory fsync of each journal write
    sub.setup = async (w) => {
      await setup(w);
      w.disabledSyncs = new Set(['doc-dir']);
    };
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { isTTY: true, write: (s: string) => err.push(s) } };
    const thrown = await verifyCommand(sub, false, io).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(thrown).toBeInstanceOf(VerifyFailedError);
    expect(exitCodeOf(thrown)).toBe(5);
    const text = out.join('');
    const n = Number(/^ {2}violations +(\d+)$/m.exec(text)![1]);
    expect(n).toBeGreaterThan(0);
    expect(text).toMatch(/^ {2}violation: loop-mount \S+ power (resume|rollback)/m);
    expect(text).toMatch(/^not verified \([\d.]+ s\)$/m);
    expect((thrown as VerifyFailedError).violations).toBe(n);
    // the progress line: redrawn in place, counting up to the last case, then erased
    expect(err[0]).toMatch(/^\r\x1b\[2Kflow verify loop-mount: \d+\/\d+ cases, \d+ violations?$/);
    const last = /(\d+)\/(\d+) cases/.exec(err[err.length - 2]!)!;
    expect(last[1]).toBe(last[2]);
    expect(err[err.length - 1]).toBe('\r\x1b[2K');
  }, 600_000);
});
