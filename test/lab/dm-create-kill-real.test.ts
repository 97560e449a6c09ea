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
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireLab } from './lab-env.js';
import { hostObjects, ROOT, Sandbox, sh, type HostObjects } from './real-host.js';
import { gone, hostRaw, normalised, scoped, sleep, type LaneScope } from './sigkill-host.js';

requireLab();

/** How long an orphaned dmsetup create may take to finish on its own (it takes well under a second unloaded). */
const ORPHAN_MS = 30_000;

const sb = new Sandbox();
let before: HostObjects;
const lane: LaneScope = { dir: sb.dir, stateDir: sb.stateDir, runDir: sb.runDir, foreignLoops: new Set(), zramBefore: new Set(), ownsZram: true };
const leftover: string[] = [];

const WORKFLOWS = {
  'delayed-device': { args: ['--file', 'slow.img', '--size', '16M', '--delay', '1', '--no-mount'], points: ['create-delay'] },
  'snapshot-image': { args: ['--image', 'pi.img', '--size', '64M', '--cow-size', '8M', '--no-mount', '--no-grow'], points: ['create-base', 'create-snapshot'] },
} as const;

/** The run's objects on the host (dm tables, loops, zram), ids and numbers replaced by names. */
async function stateOf(id: string): Promise<string[]> {
  const raw = await hostRaw();
  return normalised(scoped(raw, lane, new Set([id])), raw, lane, id);
}

function ok(args: string[], extra: Record<string, string> = {}): string {
  const r = sb.flow(args, extra);
  if (r.code !== 0) throw new Error(`flow ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

beforeAll(() => {
  lane.zramBefore = new Set(readdirSync('/sys/block').filter((n) => /^zram\d+$/.test(n)));
  sh([join(ROOT, 'scripts/make-pi-image'), join(sb.dir, 'pi.img'), '64']);
  before = hostObjects();
});

afterAll(async () => {
  for (const id of leftover) sb.flow(['rollback', id]);
  await sb.settle();
  if (!hostObjects().mounts.some((m) => m.includes(sb.dir))) rmSync(sb.dir, { recursive: true, force: true });
});

describe.each(Object.entries(WORKFLOWS))('%s', (workflow, w) => {
  let reference: string[] = [];

  it('an uninterrupted run (the reference), rolled back', async () => {
    const id = ok(['run', workflow, ...w.args]).split('\n')[0]!.trim();
    leftover.push(id);
    reference = await stateOf(id);
    expect(reference.filter((l) => l.startsWith('dm ')).length).toBe(w.points.length);
    ok(['rollback', id]);
    leftover.pop();
    expect(hostObjects()).toEqual(before);
  });

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
    expect(await stateOf(id)).toEqual(reference);
    ok(['rollback', id]);
    leftover.pop();
    expect(hostObjects()).toEqual(before);
    expect(sb.runDirEntries()).toEqual([]);
  });
});
