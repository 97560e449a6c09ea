/**
 * Progress output of run / resume / rollback as a person and a machine see it: a live
 * list on a real pseudo-terminal (script(1)), plain lines without a TTY, --quiet, --json,
 * colour only on a TTY and never with NO_COLOR.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { runId, Sandbox } from './harness.js';
import { onPty, screen, stripped, until } from './pty.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const STEPS = ['attach-image', 'read-partition-table', 'create-base', 'add-cow', 'create-snapshot', 'make-mountpoint', 'mount', 'grow-filesystem'];
const SNAP = (img: string) => ['run', 'snapshot-image', '--image', img, '--size', '128M', '--cow-size', '16M'];
const HOLD_ADD_COW = { FLOW_PAUSE_AT: 'apply:add-cow:command-done:1500' };
const SPIN = '[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]';
const SGR = /\x1b\[[0-9;]*m/;
const OUTPUT_KEYS = ['loop', 'base', 'cow', 'device', 'mountpoint'];

describe('on a terminal: a live list of the steps', () => {
  it('shows every step pending, then running with a spinner and its elapsed time, then done with its duration; the final screen is clean', async () => {
    const img = sb.piImage();
    const r = await onPty(sb, SNAP(img), { env: HOLD_ADD_COW });
    expect(r.code).toBe(0);
    const frames = stripped(r.raw);
    // the first frame: every step of the run, pending
    for (const step of STEPS) expect(frames).toMatch(new RegExp(`· ${step}\\s`));
    // add-cow held for 1.5 s: running, with the spinner and a clock past one second
    const clocks = [...frames.matchAll(new RegExp(`${SPIN} add-cow\\s+(\\d+\\.\\d)s  add a zram device`, 'g'))].map((m) => Number(m[1]));
    expect(clocks.length).toBeGreaterThanOrEqual(2);
    expect(clocks[0]).toBeLessThan(Math.max(...clocks)); // drawn as it started, then again with the clock on
    expect(Math.max(...clocks)).toBeGreaterThanOrEqual(1.4); // a clock past the 1.5 s hold, near its end

    const s = screen(r.raw);
    const id = s[0]!;
    expect(id).toMatch(/^[2-9a-hjkmnp-z]{8}$/);
    expect(s.slice(1, 9).map((l) => l.replace(/\s+/g, ' ').split(' ').slice(1, 4))).toEqual(STEPS.map((step) => ['✓', step, expect.stringMatching(/^\d+ms$|^\d+\.\ds$/)]));
    expect(s[4]).toMatch(/✓ add-cow\s+\d+\.\ds  add a zram device for the COW  -> \/dev\/zram\d+$/);
    expect(Number(/(\d+\.\d)s/.exec(s[4]!)![1])).toBeGreaterThanOrEqual(1.5);
    expect(s[1]).toMatch(/-> \/dev\/loop\d+$/);
    expect(s[9]).toBe(`run ${id}: done`);
    expect(s.slice(10, 15).map((l) => l.trim().split(/\s+/)[0])).toEqual(OUTPUT_KEYS);
    expect(s[15]).toBe(`undo everything with: flow rollback ${id}`);
    expect(s).toHaveLength(16); // nothing else left on the screen
    expect(r.raw).toMatch(SGR); // colour on a terminal
    expect(r.raw).toContain('\x1b[32m✓');
  });

  it('NO_COLOR (any value, even empty) turns colour off; the live list stays', async () => {
    sb.extImage();
    for (const value of ['1', '']) {
      const r = await onPty(sb, ['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only'], { env: { NO_COLOR: value } });
      expect(r.code).toBe(0);
      expect(r.raw).not.toMatch(SGR);
      expect(r.raw).toMatch(/\x1b\[\d+A/); // redrawn in place
      const s = screen(r.raw);
      expect(s.filter((l) => l.startsWith('  ✓ '))).toHaveLength(3);
      expect(s[4]).toBe(`run ${s[0]}: done`);
    }
  });

  it('a failed step shows its reason, the rollback undoes the rest; stderr is not garbled', async () => {
    const img = sb.piImage();
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).injectFault({ op: 'dm.create', code: 'EINVAL', after: 1, times: 1, message: 'injected: table refused' });
    const r = await onPty(sb, SNAP(img));
    expect(r.code).toBe(1);
    const s = screen(r.raw);
    expect(s[1]).toMatch(/↺ attach-image\s+\d+ms  undone: attach /);
    expect(s[2]).toMatch(/- read-partition-table\s+read partition 2  \(nothing to undo/);
    expect(s[3]).toMatch(/↺ create-base\s+\d+ms  undone: create /);
    expect(s[4]).toMatch(/↺ add-cow\s+\d+ms  undone: add a zram/);
    expect(s[5]).toMatch(/✗ create-snapshot\s+\d+ms  failed: injected: table refused/);
    for (const [i, step] of [[6, 'make-mountpoint'], [7, 'mount'], [8, 'grow-filesystem']] as const) expect(s[i]).toMatch(new RegExp(`· ${step}\\s`));
    expect(s[9]).toContain('flow: step create-snapshot failed: injected: table refused');
    expect(stripped(r.raw)).toContain('rolling back (step-failed)'); // the footer while it rolled back
    expect(s.join('\n')).not.toContain('rolling back (step-failed)'); // ... gone from the final list
  });

  it('Ctrl-C: the notice appears above the list, intact; the list ends clean; exit 130', async () => {
    const img = sb.piImage();
    const r = await onPty(sb, SNAP(img), {
      env: HOLD_ADD_COW,
      during: async (send, output) => {
        await until(() => new RegExp(`${SPIN} add-cow`).test(stripped(output())));
        send('\x03');
      },
    });
    expect(r.code).toBe(130);
    const s = screen(r.raw);
    const id = s[0]!;
    expect(s[1]).toBe('flow: SIGINT received: stopping after the current step');
    expect(s.slice(2, 6).every((l) => /^ {2}✓ /.test(l))).toBe(true);
    expect(s[5]).toMatch(/✓ add-cow\s+\d+\.\ds/);
    expect(s.slice(6, 10).every((l) => /^ {2}· /.test(l))).toBe(true);
    expect(s[10]).toMatch(/^flow: /);
    expect(s.join('\n')).toContain(`flow resume ${id}`);
    expect(s.filter((l) => l.includes('SIGINT received'))).toHaveLength(1);
  });

  it('rollback shows the run\'s steps undone in reverse; resume shows the steps done earlier, then the rest', async () => {
    sb.extImage();
    const id = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--mountpoint', 'mnt']));
    const r = await onPty(sb, ['rollback', id]);
    expect(r.code).toBe(0);
    const s = screen(r.raw);
    expect(s[0]).toMatch(/↺ attach-file\s+\d+ms  undone: attach /);
    expect(s[1]).toMatch(/↺ make-mountpoint\s+\d+ms  undone: create /);
    expect(s[2]).toMatch(/↺ mount\s+\d+ms  undone: mount on /);
    expect(s[3]).toBe(`run ${id}: rolled-back`);
    expect(s).toHaveLength(4);
    expect(stripped(r.raw)).toContain('rolling back (requested)');

    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).injectFault({ op: 'mounts.mount', code: 'EBUSY', times: 1, message: 'injected: busy' });
    const kept = runId(sb.flow([...SNAP(sb.piImage()), '--keep-on-failure']));
    const again = await onPty(sb, ['resume', kept]);
    expect(again.code).toBe(0);
    const t = screen(again.raw);
    // done by the first run: no duration; the mount failed before, checked (absent), then done now
    expect(t.slice(0, 6).every((l) => /^ {2}✓ [a-z-]+ {2,}[a-z]/.test(l))).toBe(true);
    expect(t[6]).toMatch(/✓ mount\s+\d+ms  mount on /);
    expect(t[7]).toMatch(/✓ grow-filesystem\s+\d+ms  grow the filesystem online/);
    expect(t[8]).toBe(`run ${kept}: done`);
    expect(stripped(again.raw)).toMatch(/✗ mount\s+failed: injected: busy/); // the first frame
    expect(stripped(again.raw)).toContain('resuming');
  });

  it('--verbose with stderr on the terminal: plain lines, so the command log never breaks a redraw', async () => {
    sb.extImage();
    const r = await onPty(sb, ['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only', '--verbose']);
    expect(r.code).toBe(0);
    expect(r.raw).not.toMatch(/\x1b\[\d+A/);
    const s = screen(r.raw);
    expect(s.filter((l) => /^ {2}done {6}/.test(l))).toHaveLength(3);
    expect(s.some((l) => l.startsWith('flow: $ '))).toBe(true);
  });

  it('an error before any step (an unknown run): the message only, nothing drawn', async () => {
    const r = await onPty(sb, ['rollback', 'abcdefgh']);
    expect(r.code).toBe(2);
    expect(r.raw).not.toMatch(/\x1b\[\d*[AJK]/);
    expect(screen(r.raw)[0]).toMatch(/^flow: no run abcdefgh in /);
  });

  it('lines are cut to the terminal width (never wrapped), so the redraw stays in place', async () => {
    const img = sb.piImage();
    const r = await onPty(sb, SNAP(img), { cols: 50 });
    expect(r.code).toBe(0);
    const s = screen(r.raw, 50);
    expect(s.slice(1, 9).every((l) => /^ {2}✓ /.test(l) && l.endsWith('…') && [...l].length === 49)).toBe(true);
    expect(s[9]).toBe(`run ${s[0]}: done`);
  });

  it('TERM=dumb gets the plain lines', async () => {
    sb.extImage();
    const r = await onPty(sb, ['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only'], { env: { TERM: 'dumb' } });
    expect(r.code).toBe(0);
    expect(r.raw).not.toContain('\x1b');
    expect(screen(r.raw)[1]).toMatch(/^ {2}done {6}attach/);
  });
});

describe('without a terminal: plain lines', () => {
  it('one line per event a person cares about, in journal order, and no escape codes', () => {
    const img = sb.piImage();
    const r = sb.flow(SNAP(img));
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('\x1b');
    const id = runId(r);
    const lines = r.stdout.trimEnd().split('\n');
    const events = JSON.parse(sb.flow(['log', id, '--json']).stdout) as { type: string; step?: string }[];
    const succeeded = events.filter((e) => e.type === 'StepSucceeded').map((e) => e.step);
    expect(succeeded).toEqual(STEPS);
    expect(lines[0]).toBe(id);
    expect(lines.slice(1, 9).map((l) => l.slice(0, 34).trimEnd())).toEqual(succeeded.map((step) => `  done      ${step}`));
    expect(lines[9]).toBe(`run ${id}: done`);
    expect(lines).toHaveLength(16);
    const back = sb.flow(['rollback', id]);
    expect(back.stdout + back.stderr).not.toContain('\x1b');
    expect(back.stdout.split('\n')[0]).toBe('rolling back (requested)');
  });
});

describe('--quiet: the id and the outputs only', () => {
  const check = (lines: string[]) => {
    expect(lines[0]).toMatch(/^[2-9a-hjkmnp-z]{8}$/);
    expect(lines.slice(1).map((l) => l.split('=')[0])).toEqual(OUTPUT_KEYS);
    expect(lines.slice(1).every((l) => /^[a-z]+=\S+$/.test(l))).toBe(true);
  };

  it('without a terminal', () => {
    const r = sb.flow([...SNAP(sb.piImage()), '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    check(r.stdout.trimEnd().split('\n'));
  });

  it('on a terminal: the same lines, no list, no escape codes', async () => {
    const r = await onPty(sb, [...SNAP(sb.piImage()), '--quiet']);
    expect(r.code).toBe(0);
    expect(r.raw).not.toContain('\x1b');
    check(r.raw.trimEnd().split('\r\n'));
  });
});

describe('--json on a terminal', () => {
  it('one object, no list, no colour', async () => {
    const r = await onPty(sb, [...SNAP(sb.piImage()), '--json']);
    expect(r.code).toBe(0);
    expect(r.raw).not.toContain('\x1b');
    const out = JSON.parse(r.raw);
    expect(out).toMatchObject({ workflow: 'snapshot-image', status: 'done' });
    expect(out.steps.map((x: { name: string }) => x.name)).toEqual(STEPS);
    expect(readFileSync(sb.kernelFile, 'utf8')).toContain(out.id);
  });
});
