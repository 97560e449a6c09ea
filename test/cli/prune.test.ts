/** `flow prune --older-than`: forgets runs that ended long ago, never an unfinished one. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { eventsOf, logOf } from '../support/journal-files.js';
import { runId, Sandbox } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const pruneJson = z.array(
  z.object({
    id: z.string(),
    workflow: z.string().nullable(),
    status: z.string(),
    ended: z.string().nullable(),
    action: z.enum(['removed', 'would-remove', 'kept', 'skipped']),
    reason: z.string().optional(),
  }),
);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const doc = (id: string) => join(sb.stateDir, 'runs', `${id}.json`);
const lockFile = (id: string) => join(sb.stateDir, 'locks', `run-${id}.lock`);

/** Moves a run's recorded times back: its events then happened `ms` ago (in order). */
function age(id: string, ms: number): void {
  const events = eventsOf(readFileSync(doc(id)), id);
  const n = events.length;
  events.forEach((e, i) => (e.at = new Date(Date.now() - ms - (n - i) * 1000).toISOString()));
  writeFileSync(doc(id), logOf(id, events));
}

function device(file: string, extra: Record<string, string> = {}, more: string[] = []): string {
  sb.file(file, 64 << 20);
  return runId(sb.flow(['run', 'delayed-device', '--file', file, '--no-mount', ...more], extra));
}

const prune = (...args: string[]) => {
  const r = sb.flow(['prune', '--json', ...args]);
  return { ...r, items: pruneJson.parse(JSON.parse(r.stdout)) };
};

/** Old runs of every status, and recent ended ones. */
async function runs() {
  const done = device('a.img');
  const rolledBack = device('b.img');
  expect(sb.flow(['rollback', rolledBack]).code).toBe(0);
  const running = device('c.img', { FLOW_CRASH_AT: 'apply:create-delay:command-done' });
  await (await openPersistedFakeKernel(sb.kernelFile, realFs)).injectFault({ op: 'dm.create', code: 'EINVAL', times: 1, message: 'injected' });
  const failed = device('d.img', {}, ['--keep-on-failure']);
  const rollingBack = device('e.img');
  sb.flow(['rollback', rollingBack], { FLOW_CRASH_AT: 'undo:create-delay:command-done' });
  sb.extImage();
  const stuck = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--mountpoint', 'mnt']));
  await (await openPersistedFakeKernel(sb.kernelFile, realFs)).holdMount(join(sb.dir, 'mnt'));
  expect(sb.flow(['rollback', stuck]).code).toBe(3);
  const old = { done, rolledBack, running, failed, rollingBack, stuck };
  for (const id of Object.values(old)) age(id, 40 * DAY);
  const recentDone = device('f.img');
  const recentRolledBack = device('g.img');
  sb.flow(['rollback', recentRolledBack]);
  age(recentDone, 2 * DAY);
  age(recentRolledBack, 2 * DAY);
  return { ...old, recentDone, recentRolledBack };
}

describe('flow prune', () => {
  it('removes the journals and lock files of runs that ended before the cutoff; never an unfinished run', async () => {
    const ids = await runs();
    const devicesBefore = sb.kernel().dm.length;
    const r = prune('--older-than', '30d');
    expect(r.code).toBe(0);
    const by = Object.fromEntries(r.items.map((i) => [i.id, i]));
    expect(Object.keys(by).sort()).toEqual([ids.done, ids.rolledBack, ids.running, ids.failed, ids.rollingBack, ids.stuck].sort());
    expect(by[ids.done]).toEqual({ id: ids.done, workflow: 'delayed-device', status: 'done', ended: expect.any(String), action: 'removed' });
    expect(by[ids.rolledBack]).toMatchObject({ status: 'rolled-back', action: 'removed' });
    for (const [id, status] of [[ids.running, 'running'], [ids.failed, 'failed'], [ids.rollingBack, 'rolling-back'], [ids.stuck, 'needs-operator']] as const) {
      expect(by[id]).toMatchObject({ status, action: 'kept', reason: `unfinished (${status}): never pruned; settle it with \`flow recover\`` });
    }
    expect(Date.parse(by[ids.done]!.ended!)).toBeLessThan(Date.now() - 30 * DAY);
    for (const id of [ids.done, ids.rolledBack]) {
      expect(existsSync(doc(id))).toBe(false);
      expect(existsSync(lockFile(id))).toBe(false);
    }
    for (const id of [ids.running, ids.failed, ids.rollingBack, ids.stuck, ids.recentDone, ids.recentRolledBack]) expect(existsSync(doc(id)), id).toBe(true);
    const listed = JSON.parse(sb.flow(['list', '--json']).stdout).map((x: { id: string }) => x.id);
    expect(listed.sort()).toEqual([ids.running, ids.failed, ids.rollingBack, ids.stuck, ids.recentDone, ids.recentRolledBack].sort());
    // flow forgets a done run; it does not undo it
    expect(sb.kernel().dm.length).toBe(devicesBefore);
    // and again: nothing more to remove
    expect(prune('--older-than', '30d').items.filter((i) => i.action === 'removed')).toEqual([]);
    // a shorter duration reaches the recent ones
    const r2 = prune('--older-than', '1d');
    expect(r2.items.filter((i) => i.action === 'removed').map((i) => i.id).sort()).toEqual([ids.recentDone, ids.recentRolledBack].sort());
  });

  it("removes a pruned run's fold checkpoint (runs/<id>.fold) with its journal", () => {
    const id = device('a.img');
    age(id, 3 * DAY);
    const fold = join(sb.stateDir, 'runs', `${id}.fold`);
    writeFileSync(fold, 'a cache of the fold\n', { mode: 0o600 }); // prune removes it whatever it holds
    expect(prune('--older-than', '2d').items.map((i) => [i.id, i.action])).toEqual([[id, 'removed']]);
    expect(existsSync(doc(id))).toBe(false);
    expect(existsSync(fold)).toBe(false);
  });

  it('--dry-run says what would go and changes nothing', async () => {
    const id = device('a.img');
    age(id, 3 * DAY);
    const before = readFileSync(doc(id), 'utf8');
    const r = sb.flow(['prune', '--older-than', '2d', '--dry-run']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^would remove\\s+${id}\\s+delayed-device\\s+done\\s+ended `, 'm'));
    expect(r.stdout).toMatch(/would remove 1 run that ended before .* \(dry run: nothing changed\)/);
    expect(readFileSync(doc(id), 'utf8')).toBe(before);
    expect(existsSync(lockFile(id))).toBe(true);
    expect(prune('--older-than', '2d', '--dry-run').items).toEqual([expect.objectContaining({ id, action: 'would-remove' })]);
  });

  it('durations: minutes, hours, weeks', () => {
    const id = device('a.img');
    age(id, 2 * HOUR);
    expect(prune('--older-than', '12h').items).toEqual([]);
    expect(prune('--older-than', '1w').items).toEqual([]);
    expect(sb.flow(['prune', '--older-than', '121m']).stdout).toMatch(/nothing to prune: no run ended before/);
    expect(prune('--older-than', '90m').items).toEqual([expect.objectContaining({ id, action: 'removed' })]);
  });

  it('a corrupt journal is reported and kept (exit 3); the others are pruned', () => {
    const bad = device('a.img');
    writeFileSync(doc(bad), '{"format": 1');
    const good = device('b.img');
    age(good, 10 * DAY);
    const r = prune('--older-than', '1d');
    expect(r.code).toBe(3);
    expect(r.items).toEqual([
      expect.objectContaining({ id: good, action: 'removed' }),
      { id: bad, workflow: null, status: 'corrupt', ended: null, action: 'kept', reason: expect.stringContaining(`journal ${doc(bad)} is corrupt`) },
    ]);
    expect(readFileSync(doc(bad), 'utf8')).toBe('{"format": 1');
  });

  it('a run another process holds is skipped (exit 4) and kept', async () => {
    const id = device('a.img');
    age(id, 10 * DAY);
    const holder = spawn('flock', ['--no-fork', lockFile(id), 'sleep', '60'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && spawnSync('flock', ['--nonblock', lockFile(id), 'true']).status === 0; i++) spawnSync('sleep', ['0.05']);
      const r = prune('--older-than', '1d');
      expect(r.code).toBe(4);
      expect(r.items).toEqual([expect.objectContaining({ id, action: 'skipped', reason: 'in use by another flow process' })]);
      expect(existsSync(doc(id))).toBe(true);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.on('close', r));
    }
    expect(prune('--older-than', '1d')).toMatchObject({ code: 0, items: [{ id, action: 'removed' }] });
  });

  it("removes a pruned run's stale temp files with it", () => {
    const id = device('a.img');
    age(id, 10 * DAY);
    writeFileSync(join(sb.stateDir, 'runs', `.${id}.json.999999999.1.tmp`), '{');
    expect(prune('--older-than', '1d').code).toBe(0);
    expect(readdirSync(join(sb.stateDir, 'runs'))).toEqual([]);
  });

  it.each(['30', 'd', '1.5d', '-1d', '30 days', '', '1y', '9999999999d'])('refuses --older-than %j (exit 2), changes nothing', (bad) => {
    const id = device('a.img');
    age(id, 10 * DAY);
    const r = sb.flow(['prune', '--older-than', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--older-than ${JSON.stringify(bad)} is not a duration`);
    expect(r.stderr).toContain('90m, 12h, 30d, 2w');
    expect(existsSync(doc(id))).toBe(true);
  });

  it('--older-than is required; --help has examples', () => {
    const r = sb.flow(['prune']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("required option '--older-than <DURATION>' not specified");
    const h = sb.flow(['prune', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('flow prune --older-than 30d --dry-run');
  });
});
