/**
 * A filesystem whose mounts carry an anonymous device number (btrfs reports 0:N in
 * /proc/self/mountinfo, not its block device's major:minor), on the real kernel: flow
 * finds its own mount by the block device behind it, so `show` sees it, a recovery after
 * a SIGKILL right after mount(8) returned knows it is mounted, and rollback unmounts it.
 * (Before the fix the probe said "absent": rollback left the mount, resume mounted twice.)
 * Lab only: scripts/lab run -q -- npx vitest run --project lab test/lab/btrfs-real.test.ts
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requireLab } from './lab-env.js';
import { hostObjects, Sandbox, sh, type HostObjects } from './real-host.js';

requireLab();

const sb = new Sandbox();
let before: HostObjects;
const image = join(sb.dir, 'data.btrfs');
const target = join(sb.dir, 'mnt');
const leftover: string[] = [];

/** mountinfo entries at `target`: [major:minor, fstype]. */
function mountsAt(dir: string): [string, string][] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' '))
    .filter((f) => f[4] === dir)
    .map((f) => [f[2]!, f[f.indexOf('-') + 1]!]);
}

function flow(args: string[], extra: Record<string, string> = {}): { code: number | null; signal?: NodeJS.Signals | null; stdout: string; stderr: string } {
  return sb.flow(args, extra);
}

/** The node of `role` anywhere in `flow show --json`. */
function findRole(x: unknown, role: string): Record<string, unknown> | undefined {
  if (Array.isArray(x)) return x.map((y) => findRole(y, role)).find(Boolean);
  if (x && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    if (o.role === role) return o;
    return Object.values(o).map((y) => findRole(y, role)).find(Boolean);
  }
  return undefined;
}

beforeAll(() => {
  sh(['truncate', '-s', '128M', image]);
  sh(['mkfs.btrfs', '-q', '-f', image]);
  before = hostObjects();
});

afterAll(() => {
  for (const id of leftover) flow(['rollback', id]);
  for (const [, fstype] of mountsAt(target)) if (fstype === 'btrfs') sh(['umount', target], { ok: [0, 32] });
  if (!hostObjects().mounts.some((m) => m.includes(sb.dir))) rmSync(sb.dir, { recursive: true, force: true });
}, 300_000);

it('loop-mount of a btrfs image (mountinfo says 0:N): show sees the mount, rollback unmounts it', () => {
  const r = flow(['run', 'loop-mount', '--file', image, '--mountpoint', target]);
  expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
  const id = r.stdout.split('\n')[0]!.trim();
  leftover.push(id);
  const at = mountsAt(target);
  expect(at).toEqual([[expect.stringMatching(/^0:\d+$/), 'btrfs']]);
  const show = flow(['show', id, '--json']);
  expect(show.code, show.stderr).toBe(0);
  expect(findRole(JSON.parse(show.stdout), 'mountpoint')).toMatchObject({ state: 'present' });
  const back = flow(['rollback', id]);
  expect(back.code, `${back.stderr}\n${back.stdout}`).toBe(0);
  leftover.pop();
  expect(mountsAt(target)).toEqual([]);
  expect(hostObjects()).toEqual(before);
});

it('SIGKILL right after mount(8) returned: resume knows it is mounted (no second mount), rollback unmounts it', () => {
  const r = flow(['run', 'loop-mount', '--file', image, '--mountpoint', target], { FLOW_CRASH_AT: 'apply:mount:command-done' });
  expect(r.signal, r.stderr).toBe('SIGKILL');
  const id = r.stdout.split('\n')[0]!.trim();
  leftover.push(id);
  expect(mountsAt(target).length).toBe(1);
  const resumed = flow(['resume', id]);
  expect(resumed.code, `${resumed.stderr}\n${resumed.stdout}`).toBe(0);
  expect(resumed.stdout).toMatch(/probed\s+mount\s+applied/);
  expect(mountsAt(target).length).toBe(1);
  const back = flow(['rollback', id]);
  expect(back.code, `${back.stderr}\n${back.stdout}`).toBe(0);
  leftover.pop();
  expect(mountsAt(target)).toEqual([]);
  expect(hostObjects()).toEqual(before);
});
