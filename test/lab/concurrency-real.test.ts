/**
 * flow run by several processes at once on one state directory, on the real kernel (lab
 * only: scripts/lab run -q --mem 3072 --timeout 1800 -- npx vitest run --project lab
 * test/lab/concurrency-real.test.ts). Every flow here is a separate process of the built
 * CLI, started at the same instant: runs of mixed workflows, two rollbacks of one run,
 * two runs wanting the same device name; and a snapshot whose COW overflows. Each test
 * ends with the host holding exactly what it held before (lab-case.ts).
 */
import { existsSync, readFileSync, writeSync, openSync, closeSync, fsyncSync, mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FlowEvent } from '../../journal/events.js';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { hostObjects, lastJson, majmin, mountOf, sh, sha256, type FlowChild, type Result, type RunJson } from './real-host.js';

requireLab();

const t = labCase();

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The journal of a run, through `flow log --json`. */
function events(id: string): FlowEvent[] {
  const r = t.sb.flow(['log', id, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as FlowEvent[];
}

function count(evs: FlowEvent[], type: FlowEvent['type'], step?: string): number {
  return evs.filter((e) => e.type === type && (step === undefined || ('step' in e && e.step === step))).length;
}

/** A small ext4 image with a file in it (for loop-mount). */
function ext4Image(name: string, text: string): string {
  const src = join(t.sb.dir, `${name}.src`);
  mkdirSync(src);
  writeFileSync(join(src, 'hello.txt'), text);
  const file = join(t.sb.dir, name);
  sh(['truncate', '-s', '32M', file]);
  sh(['mkfs.ext4', '-F', '-q', '-b', '4096', '-d', src, file]);
  return file;
}

/** Starts every child, waits for all of them to end. */
async function all(children: FlowChild[]): Promise<Result[]> {
  return Promise.all(children.map((c) => c.done));
}

describe('8 runs at once in one state directory', () => {
  it('all succeed with distinct devices; every journal and the index are complete; 8 rollbacks at once leave nothing', { timeout: 1_500_000 }, async () => {
    const img = t.sb.piImage('pi.img', 128);
    const imgSum = await sha256(img.path);
    const lm1 = ext4Image('lm1.ext4', 'one\n');
    const lm2 = ext4Image('lm2.ext4', 'two\n');
    const lm2Sum = await sha256(lm2); // mounted read-only: never written (lm1 is mounted read-write)
    const delayed = [1, 2, 3].map((n) => join(t.sb.dir, `slow${n}.img`));
    // three snapshots of the same image (three read-only loops on one file), three slow
    // disks flow creates, two loop mounts (one read-only)
    const plans: { workflow: string; args: string[] }[] = [
      ...[0, 1, 2].map(() => ({ workflow: 'snapshot-image', args: ['--image', img.path, '--size', '256M', '--cow-size', '16M'] })),
      ...delayed.map((file, i) => ({ workflow: 'delayed-device', args: ['--file', file, '--size', '32M', '--delay', String(i)] })),
      { workflow: 'loop-mount', args: ['--file', lm1] },
      { workflow: 'loop-mount', args: ['--file', lm2, '--read-only'] },
    ];
    const t0 = performance.now();
    const children = plans.map((p) => t.sb.start(['run', p.workflow, ...p.args, '--json']));
    // `flow list` while the runs write: it reads every journal and rewrites the index
    const listing = [t.sb.start(['list', '--json']), t.sb.start(['list'])];
    const results = await all(children);
    const runMs = performance.now() - t0;
    const runs: RunJson[] = [];
    for (const [i, r] of results.entries()) {
      expect(r.code, `${children[i]!.args.join(' ')}\n${r.stderr}\n${r.stdout}`).toBe(0);
      const j = lastJson(r);
      t.track(j.id);
      expect(j.status).toBe('done');
      runs.push(j);
    }
    for (const l of await all(listing)) expect(l.code, l.stderr).toBe(0);

    // distinct devices: loops, dm names, zram ids, mount points
    const ids = runs.map((r) => r.id);
    expect(new Set(ids).size).toBe(8);
    const loops = runs.map((r) => r.outputs.loop!);
    const dmDevices = runs.flatMap((r) => [r.outputs.base, r.outputs.device].filter((d): d is string => d !== undefined && d.startsWith('/dev/mapper/')));
    const cows = runs.flatMap((r) => (r.outputs.cow ? [r.outputs.cow] : []));
    const mountpoints = runs.map((r) => r.outputs.mountpoint!);
    expect(loops.every((l) => /^\/dev\/loop\d+$/.test(l))).toBe(true);
    expect(new Set(loops).size).toBe(8);
    expect(dmDevices).toHaveLength(9); // 3 snapshots x (base + snapshot) + 3 delay devices
    expect(new Set(dmDevices).size).toBe(9);
    expect(cows).toHaveLength(3);
    expect(new Set(cows).size).toBe(3);
    expect(new Set(mountpoints).size).toBe(8);
    // ... and the kernel holds them as the runs say: each loop on its run's file, each
    // mount point with its run's device
    const held = hostObjects();
    for (const [i, r] of runs.entries()) {
      const file = plans[i]!.args[1]!;
      expect(held.loops).toContain(`${r.outputs.loop} ${file}`);
      const top = r.outputs.device ?? r.outputs.loop!;
      expect(mountOf(r.outputs.mountpoint!)?.majmin).toBe(majmin(top));
    }
    expect(held.dm.filter((d) => ids.some((id) => d.includes(`FLOW-${id}-`)))).toHaveLength(9);
    expect(readFileSync(join(runs[6]!.outputs.mountpoint!, 'hello.txt'), 'utf8')).toBe('one\n');
    expect(readFileSync(join(runs[7]!.outputs.mountpoint!, 'hello.txt'), 'utf8')).toBe('two\n');

    // every journal complete: started, each step intended and succeeded once, finished
    for (const r of runs) {
      const evs = events(r.id);
      expect(evs.map((e) => e.seq)).toEqual(evs.map((_, i) => i));
      expect(evs[0]!.type).toBe('RunStarted');
      expect(evs.at(-1)!.type).toBe('RunFinished');
      const steps = (evs[0] as Extract<FlowEvent, { type: 'RunStarted' }>).steps;
      expect(steps.length).toBeGreaterThan(1);
      for (const s of steps) {
        expect(count(evs, 'StepIntended', s), `${r.id} ${s}`).toBe(1);
        expect(count(evs, 'StepSucceeded', s), `${r.id} ${s}`).toBe(1);
      }
      expect(evs).toHaveLength(2 + 2 * steps.length);
      // show: done, every device present as the journal says
      const show = t.sb.flow(['show', r.id, '--json']);
      expect(show.code, show.stderr).toBe(0);
      const sj = JSON.parse(show.stdout) as { status: string; live: Record<string, string>; steps: { status: string }[] };
      expect(sj.status).toBe('done');
      expect(sj.steps.every((s) => s.status === 'applied')).toBe(true);
      expect(Object.values(sj.live).every((v) => v === 'present'), JSON.stringify(sj.live)).toBe(true);
      const text = t.sb.flow(['log', r.id]);
      expect(text.code).toBe(0);
      expect(text.stdout.trim().split('\n')).toHaveLength(evs.length);
    }
    // the index: `flow list` lists all 8 done, and index.json holds all 8
    const list = t.sb.flow(['list', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const listed = JSON.parse(list.stdout) as { id: string; status: string; workflow: string }[];
    expect(listed.map((x) => x.id).sort()).toEqual([...ids].sort());
    expect(listed.every((x) => x.status === 'done')).toBe(true);
    const index = JSON.parse(readFileSync(join(t.sb.stateDir, 'index.json'), 'utf8')) as { runs: Record<string, { status: string; workflow: string }> };
    expect(Object.keys(index.runs).sort()).toEqual([...ids].sort());
    expect(Object.values(index.runs).every((x) => x.status === 'done')).toBe(true);
    expect(Object.values(index.runs).map((x) => x.workflow).sort()).toEqual(plans.map((p) => p.workflow).sort());

    // 8 rollbacks at once
    const t1 = performance.now();
    const rollbacks = ids.map((id) => t.sb.start(['rollback', id, '--json']));
    const rolled = await all(rollbacks);
    const rollbackMs = performance.now() - t1;
    for (const [i, r] of rolled.entries()) {
      expect(r.code, `rollback ${ids[i]}\n${r.stderr}`).toBe(0);
      expect(lastJson(r).status).toBe('rolled-back');
      t.untrack(ids[i]!);
    }
    expect(hostObjects()).toEqual(t.before);
    expect(t.sb.runDirEntries()).toEqual([]);
    for (const f of delayed) expect(existsSync(f)).toBe(false);
    expect(await sha256(img.path)).toBe(imgSum);
    expect(await sha256(lm2)).toBe(lm2Sum);
    for (const id of ids) {
      const evs = events(id);
      expect(count(evs, 'RollbackStarted')).toBe(1);
      expect(evs.at(-1)!.type).toBe('RollbackFinished');
    }
    const after = JSON.parse(t.sb.flow(['list', '--json']).stdout) as { status: string }[];
    expect(after.map((x) => x.status)).toEqual(Array(8).fill('rolled-back'));
    console.log(`figure: 8 concurrent runs (3 snapshot-image, 3 delayed-device, 2 loop-mount) in one state dir: all done in ${secs(runMs)}, 8 loops / 9 dm / 3 zram / 8 mounts distinct; 8 concurrent rollbacks in ${secs(rollbackMs)}, nothing left`);
  });
});

describe('two rollbacks of the same run at once', () => {
  it('one rolls back, the other exits 4 (busy) having run no command; the journal has one rollback', { timeout: 900_000 }, async () => {
    const file = join(t.sb.dir, 'slow.img');
    const r = t.run('delayed-device', ['--file', file, '--size', '32M', '--delay', '0']);
    const { id } = r;
    // both start at the same instant; the one that gets the run's lock is held at its first
    // undo (a test-only pause) until the other has exited, so the two surely overlap however
    // long either takes to start
    const gate = join(t.sb.dir, 'release-rollback');
    const pause = { FLOW_PAUSE_AT: 'undo:mount:before-intent:600000', FLOW_PAUSE_RELEASE: gate };
    const pair = [t.sb.start(['--verbose', 'rollback', id], pause), t.sb.start(['--verbose', 'rollback', id], pause)];
    await Promise.race(pair.map((c) => c.done));
    writeFileSync(gate, '');
    const res = await all(pair);
    const codes = res.map((x) => x.code);
    expect([...codes].sort(), res.map((x) => x.stderr).join('\n---\n')).toEqual([0, 4]);
    const winner = res[codes.indexOf(0)]!;
    const loser = res[codes.indexOf(4)]!;
    expect(loser.stderr).toContain(`flow: run ${id} is in use by another flow process`);
    expect(loser.stderr).toContain(`fuser -v ${join(t.sb.stateDir, 'locks', `run-${id}.lock`)}`);
    // the loser changed nothing: it ran no command at all, printed no progress
    expect(loser.stderr).not.toMatch(/^flow: \$ /m);
    expect(loser.stdout).toBe('');
    // the winner ran each undo command once
    const cmds = [...winner.stderr.matchAll(/^flow: \$ (.*)  \(exit/gm)].map((m) => m[1]!);
    const mutating = cmds.filter((c) => /^(umount|losetup (-d|--detach)|dmsetup remove)\b/.test(c));
    expect(mutating.filter((c) => c.startsWith('umount'))).toHaveLength(1);
    expect(mutating.filter((c) => c.startsWith('dmsetup remove'))).toHaveLength(1);
    expect(mutating.filter((c) => c.startsWith('losetup'))).toHaveLength(1);
    expect(winner.stdout).toMatch(/rolled-back/);
    t.untrack(id);
    expect(hostObjects()).toEqual(t.before);
    expect(existsSync(file)).toBe(false);
    expect(t.sb.runDirEntries()).toEqual([]);
    // the journal: one rollback, each undo once
    const evs = events(id);
    expect(count(evs, 'RollbackStarted')).toBe(1);
    expect(count(evs, 'RollbackFinished')).toBe(1);
    const steps = (evs[0] as Extract<FlowEvent, { type: 'RunStarted' }>).steps;
    for (const s of steps) expect(count(evs, 'UndoIntended', s) + count(evs, 'UndoSkipped', s), s).toBe(1);
    expect(count(evs, 'UndoIntended')).toBe(count(evs, 'UndoSucceeded'));
    // a third rollback afterwards: nothing to do, no command
    const again = t.sb.flow(['--verbose', 'rollback', id]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/^flow: \$ (umount|losetup|dmsetup (remove|create))/m);
    expect(events(id)).toHaveLength(evs.length);
    console.log(`figure: 2 concurrent rollbacks of one run: exits ${codes.join(' and ')}; ${mutating.length} undo commands ran once (${mutating.map((c) => c.split(' ').slice(0, 2).join(' ')).join(', ')}); the loser ran 0 commands`);
  });
});

describe('two runs racing for the same device name', () => {
  /** Two delayed-device runs with --name NAME started at once; `extra` for both. */
  /** Two runs with the same --name; `holdAt`: both held at that point until both are there. */
  async function race(name: string, holdAt?: string): Promise<{ winner: RunJson; loser: Result; loserFile: string }> {
    const files = [join(t.sb.dir, `${name}-a.img`), join(t.sb.dir, `${name}-b.img`)];
    const gate = join(t.sb.dir, `release-${name}`);
    const extra: Record<string, string> = holdAt ? { FLOW_PAUSE_AT: `${holdAt}:600000`, FLOW_PAUSE_RELEASE: gate } : {};
    const pair = files.map((f) => t.sb.start(['run', 'delayed-device', '--file', f, '--size', '32M', '--delay', '0', '--name', name, '--json'], extra));
    if (holdAt) {
      try {
        await Promise.all(pair.map((c) => c.waitFor(new RegExp(`^crash-paused ${holdAt}$`, 'm'), 'stderr')));
      } finally {
        writeFileSync(gate, ''); // also when one did not get there: the other is not left held
      }
    }
    const res = await all(pair);
    for (const r of res) {
      const id = r.stdout.trim() ? lastJson(r).id : undefined;
      if (id) t.track(id);
    }
    const ok = res.filter((r) => r.code === 0);
    expect(ok, res.map((r) => `exit ${r.code}: ${r.stderr}`).join('\n')).toHaveLength(1);
    const w = res.indexOf(ok[0]!);
    return { winner: lastJson(res[w]!), loser: res[1 - w]!, loserFile: files[1 - w]! };
  }

  /** The loser left nothing: no file, no loop, no dm device, no mount; the name is the winner's. */
  function expectLoserGone(name: string, winner: RunJson, loser: Result, loserFile: string): string {
    expect(existsSync(loserFile)).toBe(false);
    const held = hostObjects();
    expect(held.loops.filter((l) => l.endsWith(loserFile))).toEqual([]);
    expect(held.dm.filter((d) => d.startsWith(`${name};`))).toEqual([`${name};FLOW-${winner.id}-create-delay`]);
    const loserId = loser.stdout.trim() ? lastJson(loser).id : undefined;
    if (loserId) {
      expect(held.dm.filter((d) => d.includes(loserId))).toEqual([]);
      expect(lastJson(loser).status).toBe('rolled-back');
    }
    // exactly the winner's objects beyond what was there before
    expect(held.loops.length).toBe(t.before.loops.length + 1);
    expect(held.dm.length).toBe(t.before.dm.length + 1);
    expect(held.mounts.length).toBe(t.before.mounts.length + 1);
    return loserId ? `failed mid-run (exit ${loser.code}) and rolled back` : `was refused before creating anything (exit ${loser.code})`;
  }

  it('started at the same instant: exactly one succeeds; the other leaves nothing, with a clear message', { timeout: 900_000 }, async () => {
    const name = `race${process.pid}a`;
    const { winner, loser, loserFile } = await race(name);
    expect([1, 2]).toContain(loser.code);
    expect(loser.stderr).toContain(name);
    const how = expectLoserGone(name, winner, loser, loserFile);
    t.rollback(winner.id);
    console.log(`figure: same --name, started together: 1 run done, the other ${how}: ${loser.stderr.split('\n')[0]}`);
  });

  it('both past the preflight (the name still free), then both create: one succeeds, the other fails at its dm step and rolls back', { timeout: 900_000 }, async () => {
    const name = `race${process.pid}b`;
    // both are held before their dm step until both are there, so both checked the name while it was free
    const { winner, loser, loserFile } = await race(name, 'apply:create-delay:before-intent');
    expect(loser.code, loser.stderr).toBe(1);
    expect(loser.stderr).toContain('create-delay');
    expect(loser.stderr).toContain(name);
    expect(loser.stderr).toMatch(/rolled back/);
    // its journal: create-delay failed (name taken), so it had nothing to undo there
    const evs = events(lastJson(loser).id);
    expect(evs.find((e) => e.type === 'StepFailed')).toMatchObject({ step: 'create-delay', error: { code: 'EEXIST' } });
    expect(count(evs, 'UndoIntended', 'create-delay')).toBe(0);
    expect(evs.at(-1)!.type).toBe('RollbackFinished');
    expectLoserGone(name, winner, loser, loserFile);
    t.rollback(winner.id);
    console.log(`figure: same --name, both past the preflight: 1 run done, the other failed at create-delay (exit 1) and rolled back: ${loser.stderr.split('\n').find((l) => !l.startsWith('crash-paused'))}`);
  });
});

describe('a snapshot whose COW fills up', () => {
  it('flow show reports it INVALID; rollback is still exact (image unchanged, nothing left)', { timeout: 900_000 }, async () => {
    const img = t.sb.piImage('pi.img', 128);
    const sum = await sha256(img.path);
    const cowSize = 16 * 1024 * 1024;
    const r = t.run('snapshot-image', ['--image', img.path, '--size', '256M', '--cow-size', '16M']);
    const { id } = r;
    const mp = r.outputs.mountpoint!;
    const before = JSON.parse(t.sb.flow(['show', id, '--json']).stdout) as { tree: unknown };
    expect(findRole(before.tree, 'snapshot')?.usage?.status).toBe('active');

    // write three times the COW into the snapshot, synced: the kernel invalidates it
    const fd = openSync(join(mp, 'fill.bin'), 'w');
    let written = 0;
    let error = '';
    try {
      for (let i = 0; i < 48; i++) {
        written += writeSync(fd, randomBytes(1 << 20));
        if (i % 4 === 3) fsyncSync(fd);
      }
      fsyncSync(fd);
    } catch (err) {
      error = (err as NodeJS.ErrnoException).code ?? String(err);
    } finally {
      try {
        closeSync(fd);
      } catch {
        // the close may report the lost writes again
      }
    }
    expect(sh(['dmsetup', 'status', `flow-${id}`]).stdout).toMatch(/snapshot Invalid/);

    const show = t.sb.flow(['show', id]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/snapshot \/dev\/mapper\/flow-\S+ +present +INVALID/);
    expect(show.stdout).toContain('!! INVALID: the COW overflowed');
    expect(show.stdout).toContain(`flow rollback ${id}`);
    const json = JSON.parse(t.sb.flow(['show', id, '--json']).stdout) as { tree: unknown };
    const snap = findRole(json.tree, 'snapshot');
    expect(snap?.usage?.status).toBe('invalid');
    expect(snap?.usage?.warning).toMatch(/INVALID/);

    t.rollback(id);
    expect(await sha256(img.path)).toBe(sum);
    expect(sh(['losetup', '-j', img.path]).stdout).toBe('');
    console.log(`figure: COW ${cowSize >> 20} MiB, ${written >> 20} MiB written into the snapshot${error ? ` (writes failed with ${error})` : ''}: dmsetup status Invalid, flow show INVALID; rollback exact (image sha256 unchanged, nothing left)`);
  });
});

interface ShowNode {
  role: string;
  usage?: { status: string; warning?: string };
  children: ShowNode[];
}

function findRole(tree: unknown, role: string): ShowNode | undefined {
  const walk = (n: ShowNode): ShowNode | undefined => (n.role === role ? n : n.children.map(walk).find(Boolean));
  return walk(tree as ShowNode);
}
