/** `flow plan`: the exact commands a run would execute and their inverses; changes nothing. */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { runId, Sandbox } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const PlanSchema = z.strictObject({
  workflow: z.string(),
  id: z.string().regex(/^[2-9a-hjkmnp-z]{8}$/),
  params: z.record(z.string(), z.unknown()),
  steps: z.array(
    z.strictObject({
      name: z.string(),
      kind: z.enum(['file.create', 'fs.mkfs', 'loop.attach', 'partitions.check', 'dm.create', 'zram.add', 'dir.make', 'mount', 'fs.grow', 'fs.freeze']),
      title: z.string(),
      command: z.array(z.string()).min(1),
      inverse: z.array(z.string()),
    }),
  ),
});
type Plan = z.infer<typeof PlanSchema>;

const SNAP = ['plan', 'snapshot-image', '--size', '128M', '--cow-size', '16M'];

function plan(args: string[]): Plan {
  const r = sb.flow([...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return PlanSchema.parse(JSON.parse(r.stdout));
}

const step = (p: Plan, name: string) => p.steps.find((s) => s.name === name)!;

/** Every path under the sandbox with its size and mtime. */
function listing(dir = sb.dir): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((n) => {
      const st = statSync(join(dir, n));
      return `${n} ${st.size} ${st.mtimeMs} ${st.mode}`;
    })
    .sort();
}

describe('flow plan snapshot-image', () => {
  it('prints each step with the exact command, real dm tables from the partition table and sizes, and its inverse', () => {
    const img = sb.piImage();
    const p = plan([...SNAP, '--image', img, '--name', 'play']);
    expect(p.workflow).toBe('snapshot-image');
    // the file's params, as the run records them: the image and partition as preflight found them
    expect(p.params).toMatchObject({ image: { path: img }, partition: { number: 2, start: 24576, sectors: 98304, filesystem: 'ext4' }, size: 128 << 20, 'cow-size': 16 << 20, chunk: 16, name: 'play' });
    expect(p.steps.map((s) => s.name)).toEqual(['attach-image', 'read-partition-table', 'create-base', 'add-cow', 'create-snapshot', 'make-mountpoint', 'mount', 'grow-filesystem']);
    const id = p.id;
    expect(step(p, 'attach-image')).toMatchObject({ kind: 'loop.attach', command: [`losetup --find --show --read-only -- ${img}`], inverse: [`losetup -d '<loop device of attach-image>'`] });
    expect(step(p, 'read-partition-table')).toMatchObject({ command: [`sfdisk --json -- ${img}`], inverse: [] });
    // partition 2: 98304 sectors at sector 24576, then zeros up to 128 MiB = 262144 sectors
    expect(step(p, 'create-base')).toMatchObject({
      command: [`dmsetup create -v --concise 'play-base,FLOW-${id}-create-base,,,0 98304 linear <loop major:minor of attach-image> 24576,98304 163840 zero'`],
      inverse: [`dmsetup remove --retry -u FLOW-${id}-create-base`],
    });
    expect(step(p, 'add-cow')).toMatchObject({
      command: ['cat /sys/class/zram-control/hot_add', `echo ${16 << 20} > /sys/block/zram<id of add-cow>/disksize`],
      inverse: ['echo 1 > /sys/block/zram<id of add-cow>/reset', `echo '<id of add-cow>' > /sys/class/zram-control/hot_remove`],
    });
    expect(step(p, 'create-snapshot').command).toEqual([
      `dmsetup create -v --concise 'play,FLOW-${id}-create-snapshot,,,0 262144 snapshot <dm major:minor of create-base> <zram major:minor of add-cow> N 16'`,
    ]);
    const mnt = `${sb.runDir}/${id}/mnt`;
    expect(step(p, 'make-mountpoint')).toMatchObject({
      command: [`mkdir -- ${sb.runDir}`, `mkdir -- ${sb.runDir}/${id}`, `mkdir -- ${mnt}`],
      inverse: [`rmdir -- ${mnt}`, `rmdir -- ${sb.runDir}/${id}`, `rmdir -- ${sb.runDir}`],
    });
    expect(step(p, 'mount')).toMatchObject({ command: [`mount -- '<dm node of create-snapshot>' ${mnt}`], inverse: [`umount -- ${mnt}`] });
    expect(step(p, 'grow-filesystem')).toMatchObject({ command: [`resize2fs -- '<dm node of create-snapshot>'`], inverse: [] });
    // numbers only the kernel picks are never invented
    const all = p.steps.flatMap((s) => [...s.command, ...s.inverse]).join('\n');
    expect(all).not.toMatch(/\/dev\/(loop|zram|dm-)\d|\b(7|252|253):\d/);
  });

  it('the text form shows the same commands, the inverses, and explains the placeholders', () => {
    const img = sb.piImage();
    const r = sb.flow([...SNAP, '--image', img, '--partition', '2', '--no-mount']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^plan for snapshot-image: nothing was changed, no run was recorded/);
    expect(r.stdout).toMatch(/ 1\. attach-image +attach .* read-only {2}\[loop\.attach\]/);
    expect(r.stdout).toContain(`run   losetup --find --show --read-only -- ${img}`);
    expect(r.stdout).toContain(`undo  losetup -d '<loop device of attach-image>'`);
    expect(r.stdout).toMatch(/dmsetup create -v --concise 'flow-[a-z2-9]{8}-base,FLOW-[a-z2-9]{8}-create-base,,,0 98304 linear <loop major:minor of attach-image> 24576,98304 163840 zero'/);
    expect(r.stdout).toContain('undo  (nothing to undo: it only reads)');
    expect(r.stdout).toContain('<... of STEP>: known once STEP has run');
    // --no-mount: no mount point, no mount, no grow
    expect(r.stdout).not.toMatch(/make-mountpoint|mount on|resize2fs/);
  });

  it('is what the run then does: the tables flow creates are the planned ones with the placeholders filled in', () => {
    const img = sb.piImage();
    const p = plan([...SNAP, '--image', img, '--name', 'same', '--mountpoint', 'mnt']);
    const r = sb.flow(['run', 'snapshot-image', '--image', img, '--size', '128M', '--cow-size', '16M', '--name', 'same', '--mountpoint', 'mnt', '--json']);
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout) as { id: string; steps: { name: string; outputs?: Record<string, unknown> }[] };
    const out = (s: string, k: string) => String(run.steps.find((x) => x.name === s)!.outputs![k]);
    const fill = (line: string) =>
      line
        .replace('<loop major:minor of attach-image>', out('attach-image', 'majmin'))
        .replace('<dm major:minor of create-base>', out('create-base', 'majmin'))
        .replace('<zram major:minor of add-cow>', out('add-cow', 'majmin'))
        .replaceAll(p.id, run.id);
    const kernel = JSON.parse(readFileSync(sb.kernelFile, 'utf8')) as { dm: { name: string; uuid: string; live: { start: number; length: number; type: string; args: string[] }[] }[] };
    for (const [stepName, dev] of [['create-base', 'same-base'], ['create-snapshot', 'same']] as const) {
      const d = kernel.dm.find((x) => x.name === dev)!;
      const table = d.live.map((t) => [t.start, t.length, t.type, ...t.args].join(' ')).join(',');
      expect(fill(step(p, stepName).command[0]!)).toBe(`dmsetup create -v --concise '${dev},${d.uuid},,,${table}'`);
    }
    expect(fill(step(p, 'mount').inverse[0]!)).toBe(`umount -- ${sb.dir}/mnt`);
    sb.flow(['rollback', run.id]);
  });
});

describe('flow plan changes nothing', () => {
  it('on a fresh machine: no state directory, no run, no file, no kernel change', async () => {
    const img = sb.piImage();
    const ext = sb.extImage();
    await openPersistedFakeKernel(sb.kernelFile, realFs); // the fake kernel's memory (the real one needs no file)
    const before = { kernel: sb.kernel(), runs: sb.runs(), files: listing() };
    for (const args of [[...SNAP, '--image', img], [...SNAP, '--image', img, '--json'], ['plan', 'delayed-device', '--file', 'new.img', '--size', '64M'], ['plan', 'loop-mount', '--file', ext, '--mountpoint', 'mnt']]) {
      expect(sb.flow(args).code).toBe(0);
    }
    expect(sb.kernel()).toEqual(before.kernel);
    expect(sb.runs()).toEqual(before.runs);
    expect(listing()).toEqual(before.files);
    expect(existsSync(sb.stateDir)).toBe(false);
    expect(existsSync(join(sb.dir, 'new.img'))).toBe(false);
    expect(existsSync(join(sb.dir, 'mnt'))).toBe(false);
  });

  it('beside a finished run: the kernel state (devices, counters, log), the journals and every file stay as they were', () => {
    const img = sb.piImage();
    const done = sb.flow(['run', 'snapshot-image', '--image', img, '--size', '128M', '--cow-size', '16M']);
    expect(done.code).toBe(0);
    const before = { kernel: sb.kernel(), runs: sb.runs(), files: listing() };
    const r = sb.flow([...SNAP, '--image', img, '--name', 'other']);
    expect(r.code).toBe(0);
    expect(sb.kernel()).toEqual(before.kernel);
    expect(sb.runs()).toEqual(before.runs);
    expect(listing()).toEqual(before.files);
    expect(JSON.parse(sb.flow(['list', '--json']).stdout)).toHaveLength(1);
    sb.flow(['rollback', runId(done)]);
  });

  it('bad input: the same refusal as flow run (exit 2, the problem and what to do), nothing created', async () => {
    const img = sb.piImage();
    await openPersistedFakeKernel(sb.kernelFile, realFs);
    const cases: [string[], RegExp][] = [
      [['plan', 'snapshot-image'], /snapshot-image needs --image FILE\n {2}e\.g\./],
      [[...SNAP, '--image', img, '--partition', '7'], /--partition 7 is out of range/],
      [[...SNAP, '--image', 'nope.img'], /--image .*nope\.img does not exist/],
      [['plan', 'delayed-device', '--file', 'x.img', '--delay', 'soon'], /--delay/],
      [['plan', 'nope'], /unknown workflow 'nope'/],
    ];
    const files = listing();
    for (const [args, message] of cases) {
      const r = sb.flow(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe('');
    }
    expect(listing()).toEqual(files);
    expect(existsSync(sb.stateDir)).toBe(false);
  });
});

describe('flow plan delayed-device and loop-mount', () => {
  it('delayed-device: create, mkfs, attach, a 6-argument delay table, mount -o sync; file and mkfs inverses', () => {
    const p = plan(['plan', 'delayed-device', '--file', 'slow.img', '--size', '64M', '--read-delay', '10', '--write-delay', '200', '--mountpoint', 'mnt']);
    const file = `${sb.dir}/slow.img`;
    expect(p.steps.map((s) => s.name)).toEqual(['create-file', 'make-filesystem', 'attach-file', 'create-delay', 'make-mountpoint', 'mount']);
    expect(step(p, 'create-file')).toMatchObject({ command: [`truncate -s ${64 << 20} -- ${file}`], inverse: [`rm -- ${file}`] });
    expect(step(p, 'make-filesystem').command[0]).toMatch(new RegExp(`^mkfs\\.ext4 -F -q -b 4096 -U [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12} -- ${file}$`));
    expect(step(p, 'create-delay').command[0]).toBe(
      `dmsetup create -v --concise 'flow-${p.id},FLOW-${p.id}-create-delay,,,0 131072 delay <loop major:minor of attach-file> 0 10 <loop major:minor of attach-file> 0 200'`,
    );
    expect(step(p, 'mount')).toMatchObject({ command: [`mount -o sync -- '<dm node of create-delay>' ${sb.dir}/mnt`], inverse: [`umount -- ${sb.dir}/mnt`] });
    // one delay for both: 3 arguments
    expect(step(plan(['plan', 'delayed-device', '--file', 'slow.img', '--delay', '50', '--no-mount']), 'create-delay').command[0]).toMatch(/,,,0 2097152 delay <loop major:minor of attach-file> 0 50'$/);
  });

  it('on the terminal a param that names a path is that path and what flow found there, not a JSON record', () => {
    const r = sb.flow(['plan', 'delayed-device', '--file', 'slow.img', '--size', '64M', '--mountpoint', 'mnt']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^  file {11}${sb.dir}/slow\\.img  size=0 filesystem-size=0 room=\\d+$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^  mountpoint {5}${sb.dir}/mnt  exists=false create=${sb.dir}/mnt$`, 'm'));
    expect(r.stdout).toMatch(/^  size {11}67108864 \(64M\)$/m);
    expect(r.stdout).not.toMatch(/[{}]/);
  });

  it('loop-mount --read-only: losetup --read-only and mount -o ro of the loop device', () => {
    const f = sb.extImage();
    const p = plan(['plan', 'loop-mount', '--file', f, '--read-only', '--mountpoint', 'mnt']);
    expect(p.steps.map((s) => [s.name, s.command, s.inverse])).toEqual([
      ['attach-file', [`losetup --find --show --read-only -- ${f}`], [`losetup -d '<loop device of attach-file>'`]],
      ['make-mountpoint', [`mkdir -- ${sb.dir}/mnt`], [`rmdir -- ${sb.dir}/mnt`]],
      ['mount', [`mount -o ro -- '<loop device of attach-file>' ${sb.dir}/mnt`], [`umount -- ${sb.dir}/mnt`]],
    ]);
  });
});

describe('flow plan --help', () => {
  it('lists the workflows and gives examples; each workflow has its options and examples', () => {
    const top = sb.flow(['plan', '--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Examples:\n {2}flow plan snapshot-image --image raspios\.img/);
    for (const wf of ['snapshot-image', 'delayed-device', 'loop-mount']) expect(top.stdout).toContain(wf);
    const one = sb.flow(['plan', 'snapshot-image', '--help']);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('--image <FILE>');
    expect(one.stdout).toContain('--json');
    expect(one.stdout).toMatch(/Examples:\n {2}flow plan snapshot-image --image raspios\.img\n/);
    expect(one.stdout).toContain('Nothing is changed');
  });
});
