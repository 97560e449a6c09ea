/** What a user sees when things go wrong: failed steps, stuck undo, locks, signals, corruption. */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { eventsOf, logOf } from '../support/journal-files.js';
import { MAIN, runId, Sandbox } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const kernel = () => openPersistedFakeKernel(sb.kernelFile, realFs);
const SNAP = (img: string) => ['run', 'snapshot-image', '--image', img, '--size', '128M', '--cow-size', '16M'];

describe('a step fails', () => {
  it('rolls back what was done, says so, exits 1', async () => {
    const img = sb.piImage();
    await (await kernel()).injectFault({ op: 'dm.create', code: 'EINVAL', after: 1, times: 1, message: 'injected: table refused' });
    const r = sb.flow(SNAP(img));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('step create-snapshot failed: injected: table refused');
    expect(r.stderr).toContain('the run was rolled back');
    expect(r.stdout).toMatch(/undone\s+create-base/);
    expect(r.stdout).toMatch(/undone\s+attach-image/);
    expect(sb.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
    expect(JSON.parse(sb.flow(['list', '--json']).stdout)[0]).toMatchObject({ status: 'rolled-back' });
  });

  it('--keep-on-failure leaves it as is; resume retries; rollback undoes', async () => {
    const img = sb.piImage();
    await (await kernel()).injectFault({ op: 'mounts.mount', code: 'EBUSY', times: 1, message: 'injected: busy' });
    const r = sb.flow([...SNAP(img), '--keep-on-failure', '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.status).toBe('failed');
    expect(out.steps.find((s: { name: string }) => s.name === 'mount')).toMatchObject({ status: 'failed', error: { code: 'EBUSY' } });
    expect(r.stderr).toContain(`flow rollback ${out.id}`);
    expect(sb.kernel().dm).toHaveLength(2);
    const again = sb.flow(['resume', out.id]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/probed\s+mount\s+absent/);
    expect(sb.kernel().mounts).toHaveLength(1);
    expect(sb.flow(['rollback', out.id]).code).toBe(0);
    expect(sb.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
  });
});

describe('an undo that cannot be done', () => {
  it('stops with exit 3, the step and the exact commands that remain; rollback finishes once freed', async () => {
    sb.extImage();
    const id = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--mountpoint', 'mnt']));
    await (await kernel()).holdMount(join(sb.dir, 'mnt'));
    const r = sb.flow(['rollback', id]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`run ${id} needs an operator at step mount`);
    expect(r.stderr).toContain(`umount -- ${join(sb.dir, 'mnt')}`);
    expect(r.stderr).toMatch(/losetup -d \/dev\/loop\d+/);
    expect(JSON.parse(sb.flow(['show', id, '--json']).stdout)).toMatchObject({ status: 'needs-operator', operator: { step: 'mount' } });
    await (await kernel()).releaseMount(join(sb.dir, 'mnt'));
    expect(sb.flow(['rollback', id]).code).toBe(0);
    expect(sb.kernel()).toMatchObject({ loops: [], mounts: [] });
  });
});

describe('locks', () => {
  it('a run held by another process: exit 4, nothing done', async () => {
    sb.extImage();
    const id = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4']));
    const lock = join(sb.stateDir, 'locks', `run-${id}.lock`);
    // --no-fork: the lock holder is `sleep` itself, so killing it releases the lock
    const holder = spawn('flock', ['--no-fork', lock, 'sleep', '30'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && spawnSync('flock', ['--nonblock', lock, 'true']).status === 0; i++) spawnSync('sleep', ['0.05']);
      const r = sb.flow(['rollback', id]);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`run ${id} is in use by another flow process`);
      expect(sb.kernel().mounts).toHaveLength(1);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((r) => holder.on('close', r));
    }
    // the kernel released the dead holder's lock: no stale lock
    expect(sb.flow(['rollback', id]).code).toBe(0);
  });
});

describe('signals', () => {
  it('SIGINT lets the running step finish, records the interruption, exits 130; resume completes', async () => {
    const img = sb.piImage();
    // the signal arrives while the step's command has run and its outcome is not yet written
    const { child, io, reached, closed } = sb.spawnPaused(SNAP(img), 'apply:add-cow:command-done', 1500);
    await reached;
    child.kill('SIGINT');
    expect(await closed).toBe(130);
    expect(io.err).toContain('SIGINT received: stopping after the current step');
    const id = io.out.split('\n')[0]!;
    expect(io.err).toContain(`flow resume ${id}`);
    const show = JSON.parse(sb.flow(['show', id, '--json']).stdout);
    expect(show.status).toBe('interrupted');
    expect(show.steps.find((s: { name: string }) => s.name === 'add-cow').status).toBe('applied');
    expect(sb.flow(['resume', id]).code).toBe(0);
    expect(sb.flow(['rollback', id]).code).toBe(0);
    expect(sb.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
  });
});

describe('a corrupted journal', () => {
  it('is reported with its path (exit 3), never rewritten; other runs stay usable', () => {
    sb.extImage();
    const good = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
    const bad = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
    const file = join(sb.stateDir, 'runs', `${bad}.json`);
    // a torn record in the middle of the log (a torn FINAL one would be an interrupted append, read as such)
    const lines = readFileSync(file, 'utf8').split('\n');
    const broken = [...lines.slice(0, 3), lines[3]!.slice(0, lines[3]!.length / 2), ...lines.slice(4)].join('\n');
    writeFileSync(file, broken);
    for (const cmd of [['show', bad], ['log', bad], ['resume', bad], ['rollback', bad]]) {
      const r = sb.flow(cmd);
      expect(r.code, cmd.join(' ')).toBe(3);
      expect(r.stderr).toContain(`journal ${file} is corrupt`);
    }
    expect(readFileSync(file, 'utf8')).toBe(broken);
    const list = JSON.parse(sb.flow(['list', '--json']).stdout);
    expect(list).toContainEqual(expect.objectContaining({ id: bad, status: 'corrupt' }));
    expect(list).toContainEqual(expect.objectContaining({ id: good, status: 'done' }));
    expect(sb.flow(['rollback', good]).code).toBe(0);
  });

  it('a journal whose events do not fit the workflow is corrupt too', () => {
    sb.extImage();
    const id = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
    const file = join(sb.stateDir, 'runs', `${id}.json`);
    const events = eventsOf(readFileSync(file), id);
    [events[1], events[3]] = [events[3]!, events[1]!];
    events.forEach((e, i) => (e.seq = i));
    writeFileSync(file, logOf(id, events));
    const r = sb.flow(['rollback', id]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/does not fit the run at this point/);
  });
});

describe('the run index (a cache)', () => {
  it('is rebuilt when missing or unreadable, and refreshed when a run changed', () => {
    sb.extImage();
    const id = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
    const index = join(sb.stateDir, 'index.json');
    expect(JSON.parse(sb.flow(['list', '--json']).stdout)[0]).toMatchObject({ id, status: 'done' });
    expect(JSON.parse(readFileSync(index, 'utf8')).runs[id]).toMatchObject({ status: 'done' });
    writeFileSync(index, '{ not json');
    expect(JSON.parse(sb.flow(['list', '--json']).stdout)[0]).toMatchObject({ id, status: 'done' });
    expect(JSON.parse(readFileSync(index, 'utf8')).runs[id]).toMatchObject({ status: 'done' });
    sb.flow(['rollback', id]);
    expect(JSON.parse(sb.flow(['list', '--json']).stdout)[0]).toMatchObject({ id, status: 'rolled-back' });
    expect(JSON.parse(readFileSync(index, 'utf8')).runs[id]).toMatchObject({ status: 'rolled-back' });
  });
});

describe('a reader that goes away', () => {
  it('`flow run ... | head -1` gets the id and the run still completes', () => {
    sb.extImage();
    const r = spawnSync('sh', ['-c', `node ${JSON.stringify(MAIN)} run loop-mount --file rootfs.ext4 --read-only | head -1`], { cwd: sb.dir, env: sb.env(), encoding: 'utf8' });
    expect(r.status).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[2-9a-hjkmnp-z]{8}$/);
    expect(r.stderr).toBe('');
    expect(JSON.parse(sb.flow(['show', id, '--json']).stdout).status).toBe('done');
    expect(sb.flow(['rollback', id]).code).toBe(0);
  });
});
