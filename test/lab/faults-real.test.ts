/**
 * The state directory's filesystem failing under a run, on the real kernel (lab only:
 * scripts/lab run -q --timeout 1800 -- npx vitest run --project lab test/lab/faults-real.test.ts).
 * The state directory is a small ext4 the test makes on a loop device (full: ENOSPC), or
 * on a dm device the test switches to dm-flakey `error_writes` (EIO). A flow paused at a
 * named point (test-only FLOW_PAUSE_AT) meets the fault at its next journal write:
 *   - the next step does not start: the kernel holds nothing beyond the steps whose
 *     outcome is durable, or the step whose outcome could not be written is reported in doubt;
 *   - the error is clear: exit 1, the message names the journal in the state directory
 *     and the cause, and what to do;
 *   - once space is back / the device is healthy, `flow resume` or `flow rollback` leaves
 *     the exact state.
 * The test's own loop and dm devices and its mount are undone also when a test fails.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, statfsSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FlowEvent } from '../../journal/events.js';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { dmTable, hostObjects, lastJson, majmin, mountOf, sh, type FlowChild, type HostObjects, type Result } from './real-host.js';

requireLab();

const t = labCase();

/** A filesystem of the test's own mounted as the sandbox's state directory. */
interface StateFs {
  /** the block device the filesystem is on (a loop, or a dm device over one) */
  node: string;
  loop: string;
  dm?: string;
  sectors: number;
  mount(): void;
  umount(): void;
}

let serial = 0;

/** A `sizeMiB` ext4 on a loop (with `dm`: behind a dm linear device), mounted at the state dir. */
function stateFs(sizeMiB: number, dm: boolean): StateFs {
  const dir = t.sb.stateDir;
  const backing = join(t.sb.dir, `statefs${++serial}.img`);
  sh(['truncate', '-s', `${sizeMiB}M`, backing]);
  const loop = sh(['losetup', '--find', '--show', '--', backing]).stdout.trim();
  t.undo(() => void sh(['losetup', '-d', loop]));
  const sectors = sizeMiB * 2048;
  let node = loop;
  let name: string | undefined;
  if (dm) {
    name = `flowlab-state-${process.pid}-${serial}`;
    sh(['dmsetup', 'create', name, '-u', `LAB-${name}`], { input: `0 ${sectors} linear ${majmin(loop)} 0\n` });
    t.undo(() => void sh(['dmsetup', 'remove', '--retry', name!]));
    node = `/dev/mapper/${name}`;
  }
  sh(['mkfs.ext4', '-F', '-q', node]);
  mkdirSync(dir, { recursive: true });
  const fs: StateFs = {
    node,
    loop,
    dm: name,
    sectors,
    mount: () => void sh(['mount', '-t', 'ext4', node, dir]),
    umount: () => void sh(['umount', dir]),
  };
  fs.mount();
  t.undo(() => {
    if (mountOf(dir)) fs.umount();
  });
  return fs;
}

/** Fills the filesystem at `dir` to the last block (as root: the reserved blocks too). */
function fill(dir: string): () => void {
  const files = [join(dir, 'filler-1M'), join(dir, 'filler-1K')];
  sh(['dd', 'if=/dev/zero', `of=${files[0]}`, 'bs=1M'], { ok: [1] });
  sh(['dd', 'if=/dev/zero', `of=${files[1]}`, 'bs=1K'], { ok: [1] });
  sh(['sync', '-f', dir]);
  // full: not one more block (ext4 keeps ~2 % for itself, which statfs counts as free)
  const probe = join(dir, 'probe');
  expect(sh(['dd', 'if=/dev/zero', `of=${probe}`, 'bs=4K', 'count=1', 'conv=fsync'], { ok: [1] }).stderr).toMatch(/No space left on device/);
  unlinkSync(probe);
  return () => {
    for (const f of files) if (existsSync(f)) unlinkSync(f);
    sh(['sync', '-f', dir]);
  };
}

/** dm-flakey with error_writes, always down: every write to the state filesystem fails with EIO; reads work. */
function failWrites(fs: StateFs): void {
  sh(['dmsetup', 'reload', fs.dm!], { input: `0 ${fs.sectors} flakey ${majmin(fs.loop)} 0 0 1 1 error_writes\n` });
  sh(['dmsetup', 'resume', fs.dm!]);
  expect(dmTable(fs.dm!)[0]).toMatch(/ flakey .* error_writes$/);
}

/** The device healthy again, and the filesystem mounted afresh (ext4 stops writing after a failed journal commit). */
function healWrites(fs: StateFs): void {
  if (!dmTable(fs.dm!)[0]!.includes(' flakey ')) return;
  // no lockfs: an ext4 that stopped after a failed journal commit cannot be frozen
  sh(['dmsetup', 'suspend', '--nolockfs', fs.dm!]);
  sh(['dmsetup', 'reload', fs.dm!], { input: `0 ${fs.sectors} linear ${majmin(fs.loop)} 0\n` });
  sh(['dmsetup', 'resume', fs.dm!]);
  if (mountOf(t.sb.stateDir)) fs.umount();
  fs.mount();
}

function events(id: string): FlowEvent[] {
  const r = t.sb.flow(['log', id, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as FlowEvent[];
}

/** What the host holds beyond `base` (and nothing of `base` gone). */
function beyond(base: HostObjects): HostObjects {
  const now = hostObjects();
  const out = {} as HostObjects;
  for (const k of ['loops', 'dm', 'zram', 'mounts'] as const) {
    expect(base[k].filter((x) => !now[k].includes(x)), `${k} gone`).toEqual([]);
    out[k] = now[k].filter((x) => !base[k].includes(x));
  }
  return out;
}

/** Step statuses from `flow show --json` (it reads the journal and probes, never writes). */
function show(id: string): { status: string; steps: Record<string, string>; live: Record<string, string>; text: string } {
  const r = t.sb.flow(['show', id, '--json']);
  expect(r.code, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout) as { status: string; steps: { name: string; status: string }[]; live: Record<string, string> };
  const text = t.sb.flow(['show', id]).stdout;
  return { status: j.status, steps: Object.fromEntries(j.steps.map((s) => [s.name, s.status])), live: j.live, text };
}

/**
 * A flow child held at `point` (test-only FLOW_PAUSE_AT, FLOW_PAUSE_RELEASE) until `release()`:
 * resolves once flow says it is there ("crash-paused P"), however long the steps before took.
 */
async function holdAt(args: string[], point: string): Promise<{ child: FlowChild; release: () => void }> {
  const gate = join(t.sb.dir, `release-${point.replace(/:/g, '-')}`);
  const child = t.sb.start(args, { FLOW_PAUSE_AT: `${point}:600000`, FLOW_PAUSE_RELEASE: gate });
  await child.waitFor(new RegExp(`^crash-paused ${point}$`, 'm'), 'stderr');
  return { child, release: () => writeFileSync(gate, '') };
}

/** A delayed-device run (its file outside the state dir) held at `point` until `release()`. */
async function pausedRun(point: string, workflow = 'delayed-device'): Promise<{ child: FlowChild; id: string; file: string; release: () => void }> {
  const file = join(t.sb.dir, 'slow.img');
  const { child, release } = await holdAt(['--verbose', 'run', workflow, '--file', file, '--size', '32M', '--delay', '0'], point);
  const id = child.stdout.split('\n')[0]!.trim();
  expect(id).toMatch(/^[2-9a-z]{8}$/);
  t.track(id);
  return { child, id, file, release };
}

/** Each record of a run's log: its event type, step and length in bytes (with its newline). */
function records(id: string): { type?: string; step?: string; bytes: number }[] {
  const raw = readFileSync(join(t.sb.stateDir, 'runs', `${id}.json`));
  const out: { type?: string; step?: string; bytes: number }[] = [];
  let start = 0;
  for (let i = raw.indexOf(10); i !== -1; start = i + 1, i = raw.indexOf(10, start)) {
    const r = JSON.parse(raw.subarray(start, i).toString('utf8')) as { type?: string; step?: string };
    out.push({ type: r.type, step: r.step, bytes: i + 1 - start });
  }
  expect(start, 'the log ends with a whole record').toBe(raw.length);
  return out;
}

/**
 * A step of the delayed-device run and a copy of its workflow file whose path puts the
 * boundary of the log's last block inside that step's outcome record: paused after its
 * command, with the filesystem then filled, its outcome is the first record that does not fit.
 * Found from a reference run of the same shape (run to the end, then rolled back): the file's
 * path is recorded in RunStarted only (its definition's source), so a path `d` bytes longer
 * moves every later record `d` bytes on. The two runs' records differ only in digits of device numbers: the boundary is
 * put in the middle of the outcome.
 */
function outcomeAcrossBoundary(): { step: string; workflow: string } {
  const text = readFileSync(new URL('../../machines/delayed-device.yaml', import.meta.url), 'utf8');
  /** A copy at a path `extra` bytes longer than the reference's: directories of 200 characters, the rest in the file's name. */
  const copy = (extra: number): string => {
    let dir = join(t.sb.dir, 'wf');
    let left = extra;
    for (; left > 200; left -= 201) dir = join(dir, 'd'.repeat(200));
    mkdirSync(dir, { recursive: true });
    const f = join(dir, `${'w'.repeat(1 + left)}.yaml`);
    writeFileSync(f, text);
    return f;
  };
  const ref = copy(0);
  const r = t.sb.flow(['run', ref, '--file', join(t.sb.dir, 'ref0.img'), '--size', '32M', '--delay', '0', '--json']);
  expect(r.code, r.stderr).toBe(0);
  const refId = lastJson(r).id;
  t.track(refId);
  const recs = records(refId);
  const rb = t.sb.flow(['rollback', refId]);
  expect(rb.code, rb.stderr).toBe(0);
  t.untrack(refId);
  const block = statfsSync(t.sb.stateDir).bsize;
  // the first step whose outcome is long enough for a margin of 48 bytes on either side
  for (const step of ['create-delay', 'make-mountpoint', 'mount']) {
    const intent = recs.findIndex((x) => x.type === 'StepIntended' && x.step === step);
    const outcome = recs[intent + 1];
    expect(outcome, `${step}: its outcome follows its intent`).toMatchObject({ type: 'StepSucceeded', step });
    if (outcome!.bytes < 2 * 48) continue;
    const end = recs.slice(0, intent + 1).reduce((n, x) => n + x.bytes, 0);
    // the slack left after `end + d` bytes is half the outcome
    const d = (((end - (block - Math.floor(outcome!.bytes / 2))) % block) + block) % block;
    const workflow = copy(block - d === block ? 0 : block - d);
    return { step, workflow };
  }
  throw new Error(`no outcome of 96 bytes or more: records ${JSON.stringify(recs.map((x) => [x.type, x.step, x.bytes]))}`);
}

/** The run is gone from the host: exactly `base` is left, and its file and run directory. */
function expectGone(base: HostObjects, file: string): void {
  expect(beyond(base)).toEqual({ loops: [], dm: [], zram: [], mounts: [] });
  expect(existsSync(file)).toBe(false);
  expect(t.sb.runDirEntries()).toEqual([]);
}

/** No temp file of a failed write is left beside the run documents. */
function expectNoTemps(): void {
  expect(readdirSync(join(t.sb.stateDir, 'runs')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
}

const firstLine = (r: Result) => r.stderr.split('\n').find((l) => l.startsWith('flow: ') && !l.startsWith('flow: $'));

describe('the state directory full (ENOSPC)', () => {
  it('full while a run is paused: the first record that does not fit stops the run, a clear error naming its step (not started, or in doubt); resume once space is back, then rollback: exact', { timeout: 900_000 }, async () => {
    const fs = stateFs(16, false);
    const base = hostObjects();
    const { child, id, file, release } = await pausedRun('apply:create-delay:before-intent');
    const unfill = fill(t.sb.stateDir);
    t.heal(unfill);
    // an append-only log takes records into its last block's slack without a new block:
    // which record first does not fit depends on where the log ends, so the journal says
    // which one it was, and everything else must agree with it
    const journal = join(t.sb.stateDir, 'runs', `${id}.json`);
    const atFill = statSync(journal);
    const slack = atFill.blocks * 512 - atFill.size;
    const before = events(id).length;
    release();
    const r = await child.done;
    expect(r.code, r.stderr).toBe(1);
    const msg = firstLine(r)!;
    expect(msg).toContain(`cannot write journal ${journal}`);
    expect(msg).toMatch(/ENOSPC|no space left on device/i);
    const hint = r.stderr.split('\n')[r.stderr.split('\n').indexOf(msg) + 1]!.trim();
    expectNoTemps(); // the failed write took its temp file with it
    // what went in while full fit the slack: no block was allocated
    const afterFail = statSync(journal);
    expect(afterFail.blocks).toBe(atFill.blocks);
    expect(afterFail.size - atFill.size).toBeLessThanOrEqual(slack);
    // the journal (read on the full filesystem): the record after its last one is the one that failed
    const evs = events(id);
    expect(evs.length).toBeGreaterThan(before - 1);
    const last = evs.at(-1) as FlowEvent & { step?: string };
    const order = ['create-delay', 'make-mountpoint', 'mount'];
    const intentFailed = last.type === 'StepSucceeded';
    const step = intentFailed ? order[order.indexOf(last.step!) + 1] ?? 'create-delay' : last.step!;
    if (intentFailed) expect(['attach-file', 'create-delay', 'make-mountpoint']).toContain(last.step);
    else expect(last).toMatchObject({ type: 'StepIntended', step: expect.stringMatching(/^(create-delay|make-mountpoint|mount)$/) });
    const s = show(id);
    expect(s.status).toBe('running');
    expect(s.steps).toMatchObject({ 'create-file': 'applied', 'make-filesystem': 'applied', 'attach-file': 'applied' });
    if (intentFailed) {
      expect(hint).toBe(`step ${step} did not start; free space on (or repair) the filesystem of the state directory ${t.sb.stateDir}, then \`flow resume ${id}\` or \`flow rollback ${id}\``);
      expect(s.steps[step]).toBe('pending');
    } else {
      expect(hint).toMatch(new RegExp(`^step ${step} ran, but its outcome is not recorded: ${step} is in doubt; free space on \\(or repair\\) the filesystem of the state directory ${t.sb.stateDir}, then \`flow rollback ${id}\``));
      expect(s.steps[step]).toBe('intended');
    }
    // the kernel: what the durable records say, and the step in doubt at most; nothing after it
    const made = (st: string) => s.steps[st] === 'applied' || (!intentFailed && step === st);
    const held = beyond(base);
    expect(held.dm).toHaveLength(made('create-delay') ? 1 : 0);
    expect(held.mounts).toHaveLength(made('mount') ? 1 : 0);
    expect(held.loops).toHaveLength(1);
    expect(held.loops[0]).toMatch(new RegExp(` ${file}$`));
    expect(s.live['attach-file']).toBe('present');
    // still full: resume fails the same way, changing nothing
    const still = t.sb.flow(['--verbose', 'resume', id]);
    expect(still.code, still.stderr).toBe(1);
    expect(firstLine(still)).toMatch(/cannot write journal .*(ENOSPC|no space left)/i);
    expect(still.stderr).not.toMatch(/^flow: \$ (dmsetup create|mount|losetup --find)/m);
    expect(beyond(base)).toEqual(held);
    // an append-only log can still take a record that fits in its last block (the resume's
    // ResumeStarted, a probe of the step in doubt may): never a step's intent or outcome
    expect(events(id).slice(evs.length).map((e) => e.type).filter((t) => t !== 'ResumeStarted' && t !== 'StepProbed')).toEqual([]);
    // ... and a new run cannot be recorded, so it does not start
    const other = join(t.sb.dir, 'other.img');
    const fresh = t.sb.flow(['--verbose', 'run', 'delayed-device', '--file', other, '--size', '32M']);
    expect(fresh.code, fresh.stderr).toBe(1);
    expect(firstLine(fresh)).toMatch(new RegExp(`cannot write journal ${t.sb.stateDir}/runs/[2-9a-z]{8}\\.json: .*(ENOSPC|no space left)`, 'i'));
    expect(fresh.stderr).toContain('the run was not recorded, so nothing was done');
    // the preflight only looked (dmsetup info); nothing was made
    expect(fresh.stderr).not.toMatch(/^flow: \$ (?!dmsetup info|losetup -J -l|blkid|sfdisk)/m);
    expect(existsSync(other)).toBe(false);
    expectNoTemps();
    expect(beyond(base)).toEqual(held);
    const listed = JSON.parse(t.sb.flow(['list', '--json']).stdout) as { id: string }[];
    expect(listed.map((x) => x.id)).toEqual([id]);

    unfill();
    const res = t.sb.flow(['resume', id, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const done = lastJson(res);
    expect(done.status).toBe('done');
    const { loop, device, mountpoint } = done.outputs as Record<string, string>;
    expect(dmTable(`flow-${id}`)).toEqual([`0 ${(32 * 1024 * 1024) / 512} delay ${majmin(loop!)} 0 0`]);
    expect(mountOf(mountpoint!)?.majmin).toBe(majmin(device!));
    expectNoTemps();
    const rb = t.sb.flow(['rollback', id, '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(lastJson(rb).status).toBe('rolled-back');
    t.untrack(id);
    expectGone(base, file);
    console.log(`figure: ENOSPC on the state fs from before create-delay's intent (slack ${slack} bytes in the log's last block): ${intentFailed ? 'an intent' : 'an outcome'} did not fit (${step}): exit ${r.code}, "${msg}" / "${hint}"; kernel held only the ${evs.filter((e) => e.type === 'StepSucceeded').length} recorded steps${intentFailed ? '' : ' and the one in doubt'}; resume after freeing space: done; rollback: nothing left`);
  });

  it('the outcome cannot be written: the step is reported in doubt; rollback once space is back probes it and leaves nothing', { timeout: 900_000 }, async () => {
    const fs = stateFs(16, false);
    const base = hostObjects();
    // A full filesystem still takes records into the log's last block (an append-only log
    // allocates nothing for them), so which record is the first that does not fit depends on
    // where the block boundary falls. The run is laid out so that it falls inside an outcome:
    // a reference run of the same shape gives each record's length, and the path of the
    // workflow file (recorded in RunStarted only) shifts every later record by its length.
    const { step: target, workflow } = outcomeAcrossBoundary();
    const { child, id, file, release } = await pausedRun(`apply:${target}:command-done`, workflow);
    const unfill = fill(t.sb.stateDir);
    t.heal(unfill);
    release();
    const r = await child.done;
    expect(r.code, r.stderr).toBe(1);
    const msg = firstLine(r)!;
    expect(msg).toContain(join(t.sb.stateDir, 'runs', `${id}.json`));
    expect(msg).toMatch(/ENOSPC|no space left on device/i);
    const hint = r.stderr.split('\n')[r.stderr.split('\n').indexOf(msg) + 1]!.trim();
    // the paused step's outcome is the first record that does not fit: it ran and is in doubt, nothing after it started
    const doubt = /^step (create-delay|make-mountpoint|mount) ran, but its outcome is not recorded: \1 is in doubt; /.exec(hint)?.[1];
    expect(doubt, hint).toBe(target);
    expect(hint).toMatch(new RegExp(`state directory ${t.sb.stateDir}, then \`flow rollback ${id}\``));
    const held = beyond(base);
    expect(held.dm).toEqual([`flow-${id};FLOW-${id}-create-delay`]);
    expect(held.mounts).toHaveLength(doubt === 'mount' ? 1 : 0);
    expectNoTemps();
    const evs = events(id);
    expect(evs.at(-1)).toMatchObject({ type: 'StepIntended', step: doubt });
    // show: the step has an intent and no outcome
    const s = show(id);
    expect(s.steps[doubt!]).toBe('intended');
    if (doubt === 'create-delay') {
      expect(s.text).toMatch(new RegExp(`delay /dev/mapper/flow-${id} +in-doubt`));
      expect(s.text).toContain('the kernel shows it made; `flow resume` or `flow rollback` settles it');
    }

    unfill();
    const rb = t.sb.flow(['rollback', id, '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(lastJson(rb).status).toBe('rolled-back');
    t.untrack(id);
    const after = events(id);
    expect(after.find((e) => e.type === 'StepProbed' && e.step === doubt)).toMatchObject({ found: 'applied' });
    expectGone(base, file);
    expectNoTemps();
    console.log(`figure: ENOSPC on the state fs after ${doubt}'s command ran (its outcome laid across the log's last block boundary by the workflow file's path, ${workflow.length} characters): exit ${r.code}, "${hint}"; rollback after freeing space probed it (applied), undid it and everything before: nothing left`);
  });
});

describe('the state directory failing writes (EIO, dm-flakey error_writes)', () => {
  it('the intent cannot be written: the step does not start, a clear error; with the device healthy, resume then rollback: exact', { timeout: 900_000 }, async () => {
    const fs = stateFs(16, true);
    const base = hostObjects();
    const { child, id, file, release } = await pausedRun('apply:create-delay:before-intent');
    t.heal(() => healWrites(fs));
    failWrites(fs);
    release();
    const r = await child.done;
    expect(r.code, r.stderr).toBe(1);
    const msg = firstLine(r)!;
    expect(msg).toContain(`cannot write journal ${join(t.sb.stateDir, 'runs', `${id}.json`)}`);
    expect(msg).toMatch(/EIO|i\/o error|EROFS|read-only/i);
    // the intent was appended but fdatasync failed: flow says so and starts nothing more
    expect(r.stderr).toContain(`the journal's last event (StepIntended create-delay) was written but the filesystem failed to make it durable; flow stopped and started nothing more. free space on (or repair) the filesystem of the state directory ${t.sb.stateDir}`);
    expect(r.stderr).not.toMatch(/^flow: \$ dmsetup create/m);
    // the kernel: only what was durably recorded before the fault
    const held = beyond(base);
    expect(held.dm).toEqual([]);
    expect(held.mounts).toEqual([]);
    expect(held.loops).toHaveLength(1);

    healWrites(fs);
    // the unsynced intent is on the disk or not, as the failed filesystem left it; resume settles either
    const evs = events(id);
    expect([`StepSucceeded attach-file`, `StepIntended create-delay`]).toContain(`${evs.at(-1)!.type} ${(evs.at(-1) as { step?: string }).step}`);
    expect(show(id).steps['attach-file']).toBe('applied');
    expect(['pending', 'intended']).toContain(show(id).steps['create-delay']);
    const res = t.sb.flow(['resume', id, '--json']);
    expect(res.code, res.stderr).toBe(0);
    expect(lastJson(res).status).toBe('done');
    expect(dmTable(`flow-${id}`)).toHaveLength(1);
    const rb = t.sb.flow(['rollback', id, '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    t.untrack(id);
    expectGone(base, file);
    expectNoTemps();
    console.log(`figure: EIO on the state fs before create-delay's intent: exit ${r.code}, "${msg}"; kernel held only the recorded steps; device healed + remounted: resume done, rollback: nothing left`);
  });

  it('in the middle of a rollback: the next undo does not start; with the device healthy, rollback again: exact', { timeout: 900_000 }, async () => {
    const fs = stateFs(16, true);
    const base = hostObjects();
    const file = join(t.sb.dir, 'slow.img');
    const run = t.sb.flow(['run', 'delayed-device', '--file', file, '--size', '32M', '--delay', '0', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const { id } = lastJson(run);
    t.track(id);
    const { child, release } = await holdAt(['--verbose', 'rollback', id], 'undo:create-delay:before-intent');
    expect(child.stdout).toMatch(/undone\s+make-mountpoint/);
    t.heal(() => healWrites(fs));
    failWrites(fs);
    release();
    const r = await child.done;
    expect(r.code, r.stderr).toBe(1);
    const msg = firstLine(r)!;
    expect(msg).toContain(join(t.sb.stateDir, 'runs', `${id}.json`));
    expect(msg).toMatch(/EIO|i\/o error|EROFS|read-only/i);
    expect(r.stderr).not.toMatch(/^flow: \$ dmsetup remove/m);
    expect(r.stderr).toContain(`the journal's last event (UndoIntended create-delay) was written but the filesystem failed to make it durable; flow stopped and started nothing more. free space on (or repair) the filesystem of the state directory ${t.sb.stateDir}`);
    // the delay device and the loop are still there (their undo never started); the mount is gone
    const held = beyond(base);
    expect(held.dm).toEqual([`flow-${id};FLOW-${id}-create-delay`]);
    expect(held.mounts).toEqual([]);
    expect(held.loops).toHaveLength(1);

    healWrites(fs);
    // the unsynced UndoIntended is on the disk or not; rollback settles either
    expect(show(id).steps).toMatchObject({ mount: 'undone', 'attach-file': 'applied' });
    expect(['applied', 'undo-intended']).toContain(show(id).steps['create-delay']);
    const rb = t.sb.flow(['rollback', id, '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    expect(lastJson(rb).status).toBe('rolled-back');
    t.untrack(id);
    expectGone(base, file);
    expectNoTemps();
    console.log(`figure: EIO on the state fs mid-rollback (before create-delay's undo): exit ${r.code}, "${msg}"; the delay device and loop stayed, the mount was gone; healed: rollback finished, nothing left`);
  });
});
