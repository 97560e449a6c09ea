/**
 * The subprocess tier of the crash matrix: the built CLI SIGKILLs itself at a named point
 * (FLOW_CRASH_AT, test only) — a real abrupt exit, no finally blocks — then a new process
 * resumes or rolls back. Points come from the CLI itself (FLOW_CRASH_AT=list).
 */
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runId, Sandbox } from './harness.js';

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

  it.each(chosen.map((p, i) => [p, i % 2 === 0 ? 'resume' : 'rollback']))('killed at %s, then %s', (point, how) => {
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
      const rec = sb.flow([how!, id]);
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
