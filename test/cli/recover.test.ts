/** `flow recover`: settles every unfinished run; the boot unit that runs it. */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

const kernel = () => openPersistedFakeKernel(sb.kernelFile, realFs);
const recoverJson = z.array(
  z.object({
    id: z.string(),
    workflow: z.string().nullable(),
    before: z.string(),
    after: z.string(),
    action: z.enum(['resume', 'rollback', 'none']),
    error: z.string().optional(),
    commands: z.array(z.string()).optional(),
  }),
);
const status = (id: string) => JSON.parse(sb.flow(['show', id, '--json']).stdout).status as string;
const events = (id: string) => JSON.parse(sb.flow(['log', id, '--json']).stdout) as { type: string; reason?: string }[];
const recover = (...args: string[]) => {
  const r = sb.flow(['recover', '--json', ...args]);
  return { ...r, runs: recoverJson.parse(JSON.parse(r.stdout)) };
};

/** A delayed-device run (no mount) on its own file, with env for crashes, pauses or faults. */
function device(file: string, extra: Record<string, string> = {}, more: string[] = []) {
  sb.file(file, 64 << 20);
  return sb.flow(['run', 'delayed-device', '--file', file, '--no-mount', ...more], extra);
}

/** One run of each status. */
async function everyStatus() {
  const done = runId(device('a.img'));
  const running = runId(device('b.img', { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
  await (await kernel()).injectFault({ op: 'dm.create', code: 'EINVAL', times: 1, message: 'injected: table refused' });
  const failed = runId(device('c.img', {}, ['--keep-on-failure']));
  const rolledBack = runId(device('d.img'));
  expect(sb.flow(['rollback', rolledBack]).code).toBe(0);
  const rollingBack = runId(device('e.img'));
  expect(sb.flow(['rollback', rollingBack], { FLOW_CRASH_AT: 'undo:create-delay:command-done' }).signal).toBe('SIGKILL');
  sb.file('f.img', 64 << 20);
  const p = sb.spawnPaused(['run', 'delayed-device', '--file', 'f.img', '--no-mount'], 'apply:attach-file:command-done', 1500);
  await p.reached;
  p.child.kill('SIGINT');
  expect(await p.closed).toBe(130);
  const interrupted = p.io.out.split('\n')[0]!;
  const ids = { done, running, failed, rolledBack, rollingBack, interrupted };
  expect(Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, status(id)]))).toEqual({
    done: 'done',
    running: 'running',
    failed: 'failed',
    rolledBack: 'rolled-back',
    rollingBack: 'rolling-back',
    interrupted: 'interrupted',
  });
  return ids;
}

/** Holds a run's lock from another process (flock --no-fork: killing it releases the lock). */
function holdRun(id: string) {
  const lock = join(sb.stateDir, 'locks', `run-${id}.lock`);
  const holder = spawn('flock', ['--no-fork', lock, 'sleep', '60'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && spawnSync('flock', ['--nonblock', lock, 'true']).status === 0; i++) spawnSync('sleep', ['0.05']);
  return async () => {
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('close', r));
  };
}

describe('flow recover', () => {
  it('with nothing unfinished: says so, exit 0, JSON []', () => {
    device('a.img');
    const r = sb.flow(['recover']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to recover: every run is done or rolled back');
    expect(recover().runs).toEqual([]);
  });

  /** The state directory's runs/ and locks/ entries, dot files included. */
  const stateFiles = () => ({
    runs: readdirSync(join(sb.stateDir, 'runs')).sort(),
    locks: existsSync(join(sb.stateDir, 'locks')) ? readdirSync(join(sb.stateDir, 'locks')).sort() : [],
  });

  it('a run killed while it wrote its first record (start-written): its temporary file and lock file removed, nothing else', () => {
    const done = runId(device('a.img'));
    sb.file('b.img', 64 << 20);
    const killed = sb.flow(['run', 'delayed-device', '--file', 'b.img', '--no-mount'], { FLOW_CRASH_AT: 'start-written' });
    expect(killed.signal).toBe('SIGKILL');
    const left = stateFiles();
    const temp = left.runs.filter((n) => n.endsWith('.tmp'));
    expect(temp).toEqual([expect.stringMatching(/^\.[a-z0-9]+\.json\..+\.tmp$/)]);
    const id = /^\.([a-z0-9]+)\.json/.exec(temp[0]!)![1]!;
    expect(left.locks).toContain(`run-${id}.lock`);
    expect(sb.flow(['list', '--json']).stdout).not.toContain(id); // not a run: nothing was done
    const r = sb.flow(['recover']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`run ${id} was never recorded (flow stopped while it wrote the first record): its temporary file removed`);
    const after = stateFiles();
    expect(after.runs).toEqual(left.runs.filter((n) => n !== temp[0]));
    // the run locks: the done run's stays (the index's lock is recover's own)
    const runLocks = (l: string[]) => l.filter((n) => n.startsWith('run-'));
    expect(runLocks(after.locks)).toEqual(runLocks(left.locks).filter((n) => n !== `run-${id}.lock`));
    expect(runLocks(after.locks)).toEqual([`run-${done}.lock`]);
    expect(status(done)).toBe('done');
    expect(sb.flow(['recover']).stdout).not.toContain('never recorded'); // once
  });

  it('a run killed before it wrote anything (only its lock file left): the lock file removed; one another process holds is left alone', async () => {
    const done = runId(device('a.img'));
    const locks = join(sb.stateDir, 'locks');
    // what a start killed between creating its lock file and writing its first record leaves
    writeFileSync(join(locks, 'run-zzzz2222.lock'), '', { mode: 0o600 });
    // a start in that same instant, alive: it holds the lock
    const holder = spawn('flock', [join(locks, 'run-yyyy3333.lock'), 'sleep', '120'], { stdio: 'ignore' });
    try {
      const held = join(locks, 'run-yyyy3333.lock');
      const locked = () => existsSync(held) && readFileSync('/proc/locks', 'utf8').split('\n').some((l) => / FLOCK /.test(l) && l.includes(`:${statSync(held).ino} `));
      for (const end = Date.now() + 30_000; !locked(); ) {
        if (Date.now() > end) throw new Error('flock never took the lock');
        spawnSync('sleep', ['0.05']);
      }
      const r = sb.flow(['recover']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('run zzzz2222 has a lock file but no record (flow stopped before it recorded the run, or a prune stopped between removing the record and the lock file): its lock file removed');
      expect(r.stdout).not.toContain('yyyy3333');
      const runLocks = stateFiles().locks.filter((n) => n.startsWith('run-'));
      expect(runLocks).toEqual([`run-${done}.lock`, 'run-yyyy3333.lock'].sort());
      expect(status(done)).toBe('done');
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('a start still writing its first record (held at start-written, its lock held) is left alone, and then finishes', async () => {
    sb.file('a.img', 64 << 20);
    const release = join(sb.dir, 'release');
    const p = sb.spawnPaused(['run', 'delayed-device', '--file', 'a.img', '--no-mount'], 'start-written', 120_000, { FLOW_PAUSE_RELEASE: release });
    await p.reached;
    const before = stateFiles();
    expect(before.runs.filter((n) => n.endsWith('.tmp'))).toHaveLength(1);
    const r = sb.flow(['recover']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('never recorded');
    expect(stateFiles()).toEqual(before);
    writeFileSync(release, '');
    expect(await p.closed).toBe(0);
    expect(status(p.io.out.split('\n')[0]!)).toBe('done');
  });

  it('default policy rollback: every unfinished run rolled back (reason recover); done and rolled-back runs untouched', async () => {
    const ids = await everyStatus();
    const doneDoc = readFileSync(join(sb.stateDir, 'runs', `${ids.done}.json`), 'utf8');
    const r = recover();
    expect(r.code).toBe(0);
    const by = Object.fromEntries(r.runs.map((x) => [x.id, x]));
    expect(Object.keys(by).sort()).toEqual([ids.running, ids.failed, ids.rollingBack, ids.interrupted].sort());
    for (const [id, before] of [[ids.running, 'running'], [ids.failed, 'failed'], [ids.rollingBack, 'rolling-back'], [ids.interrupted, 'interrupted']] as const) {
      expect(by[id]).toEqual({ id, workflow: 'delayed-device', before, after: 'rolled-back', action: 'rollback' });
      expect(events(id).filter((e) => e.type === 'RollbackStarted').at(-1)).toMatchObject({ reason: 'recover' });
    }
    expect(readFileSync(join(sb.stateDir, 'runs', `${ids.done}.json`), 'utf8')).toBe(doneDoc);
    const k = sb.kernel();
    expect(k.dm.map((d) => d.name)).toEqual([`flow-${ids.done}`]);
    expect(k.loops).toHaveLength(1);
    // a second recover has nothing to do
    expect(recover()).toMatchObject({ code: 0, runs: [] });
  });

  it('--policy resume finishes them, except a run being rolled back, which is rolled back', async () => {
    const ids = await everyStatus();
    const r = sb.flow(['recover', '--policy', 'resume']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`run ${ids.running} (delayed-device, was running)`);
    expect(r.stdout).toMatch(/probed\s+create-delay\s+applied/);
    expect(r.stdout).toMatch(new RegExp(`${ids.rollingBack}\\s+delayed-device\\s+rolling-back\\s+-> rolled-back`));
    expect(r.stdout).toMatch(new RegExp(`${ids.failed}\\s+delayed-device\\s+failed\\s+-> done`));
    expect(r.stdout).toContain('recover: 4 unfinished runs, 4 settled, 0 not');
    expect([ids.running, ids.failed, ids.interrupted, ids.done].map(status)).toEqual(['done', 'done', 'done', 'done']);
    expect(status(ids.rollingBack)).toBe('rolled-back');
    expect(sb.kernel().dm).toHaveLength(4);
  });

  it('a step that fails while resuming: the run is rolled back and recover exits 1', async () => {
    // killed once attach-file's outcome is durable (killed before it, flow could not tell its loop from another program's: exit 3)
    const id = runId(device('b.img', { FLOW_CRASH_AT: 'apply:attach-file:outcome-synced' }));
    await (await kernel()).injectFault({ op: 'dm.create', code: 'EINVAL', times: 1, message: 'injected: table refused' });
    const r = recover('--policy', 'resume');
    expect(r.code).toBe(1);
    expect(r.runs).toEqual([{ id, workflow: 'delayed-device', before: 'running', after: 'rolled-back', action: 'resume', error: 'step create-delay failed: injected: table refused' }]);
    expect(r.stderr).toContain('step create-delay failed: injected: table refused');
    expect(sb.kernel()).toMatchObject({ loops: [], dm: [] });
  });

  it('skips a run another process holds (exit 4) and settles the others', async () => {
    const held = runId(device('a.img', { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
    const other = runId(device('b.img', { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
    const release = holdRun(held);
    try {
      const r = sb.flow(['recover']);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(`run ${held} is in use by another flow process`);
      expect(r.stdout).toMatch(new RegExp(`${held}\\s+delayed-device\\s+running\\s+-> running\\s+run ${held} is in use by another flow process`));
      expect(r.stdout).toContain('recover: 2 unfinished runs, 1 settled, 1 not');
      expect(status(other)).toBe('rolled-back');
      expect(status(held)).toBe('running');
    } finally {
      await release();
    }
    expect(recover()).toMatchObject({ code: 0, runs: [{ id: held, after: 'rolled-back' }] });
  });

  it('a run that needs an operator: exit 3 with the commands that remain (3 wins over 4); settled once freed', async () => {
    sb.extImage();
    const stuck = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--mountpoint', 'mnt']));
    await (await kernel()).holdMount(join(sb.dir, 'mnt'));
    const held = runId(device('a.img', { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
    expect(sb.flow(['rollback', stuck]).code).toBe(3);
    const release = holdRun(held);
    let r;
    try {
      r = recover();
    } finally {
      await release();
    }
    expect(r.code).toBe(3);
    const item = r.runs.find((x) => x.id === stuck)!;
    expect(item).toMatchObject({ workflow: 'loop-mount', before: 'needs-operator', after: 'needs-operator', action: 'rollback' });
    expect(item.error).toContain(`run ${stuck} needs an operator at step mount`);
    expect(item.commands).toContain(`umount -- ${join(sb.dir, 'mnt')}   # if mount took effect`);
    expect(r.stderr).toContain('What may remain, to check and do by hand');
    expect(r.runs.find((x) => x.id === held)).toMatchObject({ after: 'running', error: `run ${held} is in use by another flow process` });
    await (await kernel()).releaseMount(join(sb.dir, 'mnt'));
    expect(recover()).toMatchObject({ code: 0, runs: [{ after: 'rolled-back' }, { after: 'rolled-back' }] });
    expect(sb.kernel()).toMatchObject({ loops: [], dm: [], mounts: [] });
  });

  it('a corrupt journal is reported (exit 3), never rewritten; the other runs are settled', () => {
    const bad = runId(device('a.img'));
    const file = join(sb.stateDir, 'runs', `${bad}.json`);
    writeFileSync(file, '{"format": 1, "id": "');
    const good = runId(device('b.img', { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
    const r = recover();
    expect(r.code).toBe(3);
    expect(r.runs).toEqual([
      { id: good, workflow: 'delayed-device', before: 'running', after: 'rolled-back', action: 'rollback' },
      { id: bad, workflow: null, before: 'corrupt', after: 'corrupt', action: 'none', error: expect.stringContaining(`journal ${file} is corrupt`) },
    ]);
    expect(readFileSync(file, 'utf8')).toBe('{"format": 1, "id": "');
  });

  it('SIGTERM stops after the current step, starts no further run, exit 130', async () => {
    const first = runId(device('a.img', { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
    const second = runId(device('b.img', { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
    const { child, io, reached, closed } = sb.spawnPaused(['recover', '--json'], 'undo:create-delay:command-done', 1500);
    await reached;
    child.kill('SIGTERM');
    expect(await closed).toBe(130);
    const { out, err } = io;
    expect(err).toContain('SIGTERM received: stopping after the current step; no further run is recovered');
    const runs = recoverJson.parse(JSON.parse(out));
    expect(runs).toEqual([
      { id: first, workflow: 'delayed-device', before: 'running', after: 'interrupted', action: 'rollback', error: `run ${first} interrupted by SIGTERM` },
      { id: second, workflow: 'delayed-device', before: 'running', after: 'running', action: 'none', error: 'not recovered: flow was stopped by SIGTERM' },
    ]);
    // the interrupted rollback is finished by the next recover, even with --policy resume
    expect(recover('--policy', 'resume')).toMatchObject({ code: 0, runs: [{ id: first, after: 'rolled-back' }, { id: second, after: 'done' }] });
  });

  it('refuses a bad policy (exit 2); --help has examples', () => {
    const r = sb.flow(['recover', '--policy', 'guess']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Allowed choices are resume, rollback/);
    const h = sb.flow(['recover', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('flow recover --policy resume');
    expect(h.stdout).toMatch(/default: "rollback"/);
  });
});

describe('systemd/flow-recover.service', () => {
  const UNIT = fileURLToPath(new URL('../../systemd/flow-recover.service', import.meta.url));
  const text = readFileSync(UNIT, 'utf8');

  /** Errors and warnings systemd-analyze verify prints about this unit (it exits 0 on many of them). */
  function verify(unitText: string): { code: number | null; problems: string[] } {
    const file = join(sb.dir, 'flow-recover.service');
    writeFileSync(file, unitText);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8', timeout: 60_000 });
    const problems = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => l.includes('flow-recover.service') || l.includes(sb.dir));
    return { code: r.status, problems };
  }

  it('is a oneshot after local-fs, wanted by multi-user, with no network dependency', () => {
    const lines = text.split('\n').map((l) => l.trim());
    for (const l of ['Type=oneshot', 'ExecStart=/usr/local/bin/flow recover --policy rollback', 'WantedBy=multi-user.target']) expect(lines).toContain(l);
    expect(lines.find((l) => l.startsWith('After='))).toMatch(/^After=.*\blocal-fs\.target\b/);
    expect(text).not.toMatch(/network/i);
  });

  it('passes systemd-analyze verify (with ExecStart on an executable that exists), and its command line works', () => {
    const wrapper = join(sb.dir, 'flow');
    const env = Object.entries(sb.env()).map(([k, v]) => `export ${k}='${v}'`).join('\n');
    writeFileSync(wrapper, `#!/bin/sh\n${env}\nexec '${process.execPath}' '${MAIN}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const unit = text.replace('/usr/local/bin/flow', wrapper);
    const ok = verify(unit);
    expect(ok.problems).toEqual([]);
    expect(ok.code).toBe(0);
    // the check catches a broken unit
    expect(verify(unit.replace('Type=oneshot', 'Type=oneshoot')).problems.join('\n')).toMatch(/Failed to parse service type/);
    // what systemd would run
    const run = runId(device('a.img', { FLOW_CRASH_AT: 'apply:create-delay:command-done' }));
    const argv = unit.split('\n').find((l) => l.startsWith('ExecStart='))!.slice('ExecStart='.length).split(' ');
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`run ${run}: rolled-back`);
  });
});
