/**
 * --verbose: every command flow executes, with argv, exit code and duration, on stderr
 * (JSON lines with --log-format json), never lost on SIGKILL. The persisted fake kernel
 * (FLOW_FAKE_KERNEL) runs no real command: it reports each of its operations through the
 * same observer as argv ['fake', op, what], so what is logged here is what flow asked of
 * the kernel, in order.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { MAIN, runId, Sandbox } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const LogLine = z.strictObject({
  level: z.enum(['debug', 'warn']),
  msg: z.literal('command'),
  argv: z.array(z.string()).min(1),
  exitCode: z.number().int().nullable(),
  durationMs: z.number().nonnegative(),
  code: z.string().regex(/^E[A-Z]+$/).optional(),
});
type LogLine = z.infer<typeof LogLine>;

/** Every stderr line, each a valid log line. */
function jsonLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => LogLine.parse(JSON.parse(l)));
}

const TEXT = /^flow: \$ (.+) {2}\((exit \d+|no exit code), \d+(\.\d)? ms(, E[A-Z]+)?\)$/;
const LM = (...extra: string[]) => ['run', 'loop-mount', '--file', 'rootfs.ext4', '--mountpoint', 'mnt', ...extra];

describe('--verbose', () => {
  it('text: one line per command with its argv, exit code and duration; stdout as without it', () => {
    sb.extImage();
    const r = sb.flow(['--verbose', ...LM()]);
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(3);
    for (const l of lines) expect(l).toMatch(TEXT);
    const cmds = lines.map((l) => TEXT.exec(l)![1]);
    const file = `${sb.dir}/rootfs.ext4`;
    const attach = cmds.indexOf(`fake loop.attach ${file}`);
    const mount = cmds.indexOf(`fake mounts.mount /dev/loop0 ${sb.dir}/mnt`);
    expect(attach).toBeGreaterThan(-1);
    expect(mount).toBeGreaterThan(attach); // in the order flow ran them
    expect(lines[attach]).toMatch(/\(exit 0, \d+(\.\d)? ms\)$/);
    expect(r.stdout).toContain('run ');
    expect(r.stdout).not.toContain('fake ');

    const quiet = sb.flow(['rollback', runId(r)]);
    expect(quiet.stderr).toBe(''); // nothing without --verbose
  });

  it('--log-format json: JSON lines {level, msg, argv, exitCode, durationMs, code?}; a failing command has its exit code and error code', async () => {
    sb.extImage();
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).injectFault({ op: 'mounts.mount', code: 'EBUSY', times: 1, message: 'injected: busy' });
    const r = sb.flow(['--verbose', '--log-format', 'json', ...LM()]);
    expect(r.code).toBe(1);
    const [message, ...rest] = r.stderr.split('\n').filter((l) => !l.startsWith('{')).filter((l) => l !== '');
    expect(message).toContain('step mount failed: injected: busy'); // the error still reads as text
    expect(rest.join('\n')).not.toContain('"msg"');
    const lines = jsonLines(r.stderr.split('\n').filter((l) => l.startsWith('{')).join('\n'));
    const failed = lines.find((l) => l.argv[1] === 'mounts.mount')!;
    expect(failed).toEqual({ level: 'warn', msg: 'command', argv: ['fake', 'mounts.mount', '/dev/loop0', `${sb.dir}/mnt`], exitCode: 1, durationMs: failed.durationMs, code: 'EBUSY' });
    const ok = lines.find((l) => l.argv[1] === 'loop.attach')!;
    expect(ok).toMatchObject({ level: 'debug', exitCode: 0 });
    expect(ok.code).toBeUndefined();
    // the rollback that followed is logged too
    expect(lines.some((l) => l.argv[1] === 'loop.detach' && l.argv[2] === '/dev/loop0')).toBe(true);
  });

  it('a line is written before flow goes on: nothing is lost when flow is SIGKILLed right after a command', () => {
    sb.extImage();
    const r = sb.flow(['--verbose', '--log-format', 'json', ...LM()], { FLOW_CRASH_AT: 'apply:mount:command-done' });
    expect(r.signal).toBe('SIGKILL');
    // the last line before the kill is the test-only switch's own "crash-kill ..." note
    const lines = jsonLines(r.stderr.replace(/^crash-kill .*\n/m, ''));
    expect(lines.at(-1)).toMatchObject({ argv: ['fake', 'mounts.mount', '/dev/loop0', `${sb.dir}/mnt`], exitCode: 0 });
    expect(sb.kernel().mounts).toHaveLength(1); // it did run: the log says so
    expect(sb.flow(['rollback', runId(r)]).code).toBe(0);
  });

  it('show and plan log what they read, and still change nothing', () => {
    sb.extImage();
    const id = runId(sb.flow(LM()));
    const show = sb.flow(['--verbose', '--log-format', 'json', 'show', id]);
    expect(show.code).toBe(0);
    const reads = jsonLines(show.stderr).map((l) => l.argv[1]);
    expect(reads).toEqual(expect.arrayContaining(['loop.list', 'mounts.list']));
    expect(reads.every((op) => /\.(list|info|table|status|usage|probe|read|bootId|memTotal)$/.test(op!))).toBe(true);

    sb.extImage('other.ext4');
    const before = sb.kernel();
    const plan = sb.flow(['--verbose', 'plan', 'loop-mount', '--file', 'other.ext4', '--mountpoint', 'mnt2']);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toMatch(new RegExp(`^flow: \\$ fake filesystems\\.probe ${sb.dir}/other\\.ext4 {2}\\(exit 0, `, 'm'));
    expect(sb.kernel()).toEqual(before);
    expect(plan.stdout).toContain('losetup --find --show');
  });

  it('on the real kernel: the real commands with their exact argv (flow plan only reads: blkid, losetup -l)', () => {
    const file = sb.extImage();
    const { FLOW_FAKE_KERNEL: _fake, ...env } = sb.env(); // the real kernel
    const r = spawnSync(process.execPath, [MAIN, '--verbose', '--log-format', 'json', 'plan', 'loop-mount', '--file', file, '--mountpoint', 'mnt'], { cwd: sb.dir, env, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = jsonLines(r.stderr);
    expect(lines.map((l) => l.argv)).toEqual([
      ['blkid', '-p', '-o', 'export', '--', file],
      ['losetup', '-J', '-l', '-O', 'NAME,MAJ:MIN,BACK-FILE,BACK-INO,BACK-MAJ:MIN,OFFSET,SIZELIMIT,RO,AUTOCLEAR'],
    ]);
    expect(lines.every((l) => l.exitCode === 0 && l.level === 'debug' && l.durationMs > 0)).toBe(true);
    expect(r.stdout).toContain(`losetup --find --show -- ${file}`);
    expect(existsSync(sb.kernelFile) || existsSync(sb.stateDir) || existsSync(`${sb.dir}/mnt`)).toBe(false);
  });
});
