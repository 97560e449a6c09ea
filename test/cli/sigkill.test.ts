/**
 * The subprocess tier of the crash matrix: the built CLI SIGKILLs itself at a named point
 * (FLOW_CRASH_AT, test only) — a real abrupt exit, no finally blocks — then a new process
 * resumes or rolls back. Points come from the CLI itself (FLOW_CRASH_AT=list).
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { runId, Sandbox, type Result } from './harness.js';

function pointsOf(args: string[], setup: (sb: Sandbox) => void): { forward: string[]; undo: string[] } {
  const sb = new Sandbox();
  try {
    setup(sb);
    const r = sb.flow(args, { FLOW_CRASH_AT: 'list' });
    const forward = [...r.stderr.matchAll(/^crash-point (\S+)$/gm)].map((m) => m[1]!);
    const b = sb.flow(['rollback', runId(r)], { FLOW_CRASH_AT: 'list' });
    const undo = [...b.stderr.matchAll(/^crash-point (undo:\S+)$/gm)].map((m) => m[1]!);
    return { forward, undo };
  } finally {
    sb.cleanup();
  }
}

const figures: string[] = [];

/**
 * Killed after its losetup / hot_add and before the outcome is durable, flow cannot tell
 * its device from one another program made meanwhile and stops (exit 3) listing it (see
 * src/steps/kinds/loop-attach.ts). Only there: the operator removes that device exactly as
 * listed, resolves the step as absent, and recovers again.
 */
const DEVICE_WINDOW = /^apply:(attach-file|attach-image|add-cow):(command-running|command-done|outcome-appended)$/;

async function asOperator(sb: Sandbox, id: string, rec: Result, point: string, how: string): Promise<Result> {
  if (rec.code !== 3) return rec;
  expect(point).toMatch(DEVICE_WINDOW);
  const step = /needs an operator at step (\S+):/.exec(rec.stderr)?.[1];
  const devices = [...rec.stderr.matchAll(/# only if \/dev\/(loop|zram)(\d+) \(diskseq (\d+)\) is this run's$/gm)];
  expect(step).toBeDefined();
  expect(devices.length).toBeGreaterThan(0);
  const k = await openPersistedFakeKernel(sb.kernelFile, realFs);
  for (const [, kind, n, seq] of new Map(devices.map((d) => [d[0], d])).values()) {
    if (kind === 'loop') {
      const l = (await k.loop.list()).find((x) => x.device === `/dev/loop${n}` && x.diskseq === Number(seq));
      if (l) await k.loop.detach(l.device);
    } else {
      const z = (await k.zram.list()).find((x) => x.id === Number(n) && x.diskseq === Number(seq));
      if (z) await k.zram.reset(z.id).then(() => k.zram.remove(z.id));
    }
  }
  expect(sb.flow(['resolve', id, '--step', step!, '--as', 'absent']).code).toBe(0);
  return sb.flow([how, id]);
}

/** Nothing of the run is left: no device, mount, created file or directory. */
function expectClean(sb: Sandbox, created: string[]): void {
  expect(sb.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
  for (const p of created) expect(existsSync(p), `${p} left behind`).toBe(false);
  expect(existsSync(sb.runDir) ? readdirSync(sb.runDir) : []).toEqual([]);
}

const workflows = [
  { name: 'delayed-device', every: 1, args: ['run', 'delayed-device', '--file', 'slow.img', '--size', '64M'], setup: () => undefined, created: (sb: Sandbox) => [`${sb.dir}/slow.img`] },
  { name: 'snapshot-image', every: 4, args: ['run', 'snapshot-image', '--image', 'pi.img', '--size', '128M', '--cow-size', '16M'], setup: (sb: Sandbox) => void sb.piImage(), created: () => [] },
];

describe.each(workflows)('SIGKILL at named points: $name', (wf) => {
  const { forward, undo } = pointsOf(wf.args, wf.setup);
  const chosen = forward.filter((_p, i) => i % wf.every === 0);

  it('enumerates the points of every step from the CLI', () => {
    expect(forward.some((p) => p.endsWith(':command-running'))).toBe(true);
    expect(undo.length).toBeGreaterThan(0);
  });

  it.each(chosen.map((p, i) => [p, i % 2 === 0 ? 'resume' : 'rollback']))('killed at %s, then %s', async (point, how) => {
    const sb = new Sandbox();
    try {
      wf.setup(sb);
      const r = sb.flow(wf.args, { FLOW_CRASH_AT: point! });
      expect(r.signal).toBe('SIGKILL');
      // killed before it printed the id: the run may still be recorded; `flow list` finds it
      const listed = JSON.parse(sb.flow(['list', '--json']).stdout) as { id: string }[];
      const id = runId(r) || listed[0]?.id;
      if (!id) {
        expect(sb.runs()).toEqual([]);
        expectClean(sb, wf.created(sb));
        figures.push(`${wf.name} ${point} (not recorded)`);
        return;
      }
      expect(listed.map((x) => x.id)).toEqual([id]);
      const rec = await asOperator(sb, id, sb.flow([how!, id]), point!, how!);
      expect(rec.stderr).toBe('');
      expect(rec.code).toBe(0);
      if (how === 'resume') {
        expect(rec.stdout).toContain(`run ${id}: done`);
        expect(sb.kernel().mounts).toHaveLength(1);
        expect(sb.flow(['resume', id]).code).toBe(0);
        expect(sb.flow(['rollback', id]).code).toBe(0);
      } else {
        expect(rec.stdout).toContain(`run ${id}: rolled-back`);
      }
      expectClean(sb, wf.created(sb));
      figures.push(`${wf.name} ${point} ${how}`);
    } finally {
      sb.cleanup();
    }
  });

  it.each(undo.filter((_p, i) => i % wf.every === 0).map((p) => [p]))('rollback killed at %s, then rollback again', (point) => {
    const sb = new Sandbox();
    try {
      wf.setup(sb);
      const id = runId(sb.flow(wf.args));
      const r = sb.flow(['rollback', id], { FLOW_CRASH_AT: point! });
      expect(r.signal).toBe('SIGKILL');
      const resume = sb.flow(['resume', id]);
      expect(resume.code).toBe(2);
      expect(resume.stderr).toContain('is being rolled back');
      const rec = sb.flow(['rollback', id]);
      expect(rec.code).toBe(0);
      expectClean(sb, wf.created(sb));
      figures.push(`${wf.name} ${point} rollback`);
    } finally {
      sb.cleanup();
    }
  });
});

afterAll(() => console.log(`\nSIGKILL tier (built CLI, fake kernel): ${figures.length} kill points recovered exactly`));
