/**
 * flow SIGKILLed alone right after it started `dmsetup create` (FLOW_CRASH_AT=
 * apply:create-*:command-running with FLOW_CRASH_CHILD=1), on the real kernel: the
 * orphaned dmsetup must finish on its own — it gets its table in argv, never on a stdin
 * that its dead parent would never write — so it stops holding the run's lock, and
 * recovery is exact: `flow resume` leaves what an uninterrupted run leaves, `flow
 * rollback` leaves nothing. (Before the fix the orphan read an empty table from the
 * closed pipe, waited for a udev event that never came, and held the lock forever.)
 * Lab only: scripts/lab run -q -- npx vitest run --project lab test/lab/dm-create-kill-real.test.ts
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsOf } from '../support/journal-files.js';
import { requireLab } from './lab-env.js';
import { hostObjects, ROOT, Sandbox, sh, type HostObjects } from './real-host.js';
import { normalizeTableLine } from '../../src/kernel/parse/dm-table.js';
import { gone, hostRaw, scoped, sleep, type LaneScope } from './sigkill-host.js';

requireLab();

/** How long an orphaned dmsetup create may take to finish on its own (it takes well under a second unloaded). */
const ORPHAN_MS = 30_000;

const sb = new Sandbox();
let before: HostObjects;
const lane: LaneScope = { dir: sb.dir, stateDir: sb.stateDir, runDir: sb.runDir, foreignLoops: new Set(), zramBefore: new Set(), ownsZram: true };
const leftover: string[] = [];

const WORKFLOWS = {
  'delayed-device': { args: ['--file', 'slow.img', '--size', '16M', '--delay', '1', '--no-mount'], points: ['create-delay'], loops: 1, zram: 0 },
  'snapshot-image': { args: ['--image', 'pi.img', '--size', '128M', '--cow-size', '8M', '--no-mount', '--no-grow'], points: ['create-base', 'create-snapshot'], loops: 1, zram: 1 },
} as const;

/**
 * What a finished run must hold, from its own journal: one live, resumed device per dm
 * step with exactly the intended name, UUID and table; one loop per loop step, one zram
 * device per zram step; and nothing else of the run.
 */
async function checkFinished(id: string, w: { points: readonly string[]; loops: number; zram: number }): Promise<void> {
  const doc = { events: eventsOf(readFileSync(join(sb.stateDir, 'runs', `${id}.json`)), id) as { type: string; step?: string; args?: { name: string; uuid: string; table: string[] } }[] };
  const intended = new Map<string, { name: string; uuid: string; table: string[] }>();
  for (const e of doc.events) if (e.type === 'StepIntended' && w.points.includes(e.step!)) intended.set(e.step!, e.args!);
  const raw = await hostRaw();
  const mine = scoped(raw, lane, new Set([id]));
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
  expect(mine.dm.map((d) => ({ name: d.name, uuid: d.uuid, attr: d.attr, table: d.table })).sort(byName)).toEqual(
    [...intended.values()].map((a) => ({ name: a.name, uuid: a.uuid, attr: 'L--w', table: a.table.map(normalizeTableLine) })).sort(byName),
  );
  expect(intended.size).toBe(w.points.length);
  expect(mine.loops.length).toBe(w.loops);
  expect(mine.zram.length).toBe(w.zram);
  expect(mine.mounts).toEqual([]);
}

function ok(args: string[], extra: Record<string, string> = {}): string {
  const r = sb.flow(args, extra);
  if (r.code !== 0) throw new Error(`flow ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

beforeAll(() => {
  lane.zramBefore = new Set(readdirSync('/sys/block').filter((n) => /^zram\d+$/.test(n)));
  sh([join(ROOT, 'scripts/make-pi-image'), join(sb.dir, 'pi.img'), '96']);
  before = hostObjects();
});

afterAll(async () => {
  for (const id of leftover) sb.flow(['rollback', id]);
  await sb.settle();
  if (!hostObjects().mounts.some((m) => m.includes(sb.dir))) rmSync(sb.dir, { recursive: true, force: true });
}, 300_000);

describe.each(Object.entries(WORKFLOWS))('%s', (workflow, w) => {
  it.each(w.points.map((p) => [p]))('killed alone while `dmsetup create` of %s runs: the orphan finishes by itself; resume is exact, rollback leaves nothing', async (step) => {
    const point = `apply:${step}:command-running`;
    const r = sb.flow(['run', workflow, ...w.args], { FLOW_CRASH_AT: point, FLOW_CRASH_CHILD: '1' });
    const id = r.stdout.split('\n')[0]!.trim();
    leftover.push(id);
    expect(r.signal, r.stderr).toBe('SIGKILL');
    const m = /^crash-kill (\S+) flow-alone child (\d+) (\S+) (\S+)$/m.exec(r.stderr);
    expect(m?.slice(1).filter((_, i) => i !== 1), r.stderr).toEqual([point, 'dmsetup', 'create']);
    const pid = Number(m![2]);
    const t0 = Date.now();
    while (!gone(pid) && Date.now() - t0 < ORPHAN_MS) await sleep(50);
    const finished = gone(pid);
    if (!finished) process.kill(pid, 'SIGKILL'); // the old bug: leave no hung dmsetup behind
    expect(finished, `the orphaned dmsetup create (pid ${pid}) still ran ${ORPHAN_MS} ms after flow was killed`).toBe(true);

    const resumed = sb.flow(['resume', id]);
    expect(resumed.code, `${resumed.stderr}\n${resumed.stdout}`).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`^run ${id}: done$`, 'm'));
    await checkFinished(id, w);
    ok(['rollback', id]);
    leftover.pop();
    expect(hostObjects()).toEqual(before);
    expect(sb.runDirEntries()).toEqual([]);
  });
});
