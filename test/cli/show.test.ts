/** `flow show <id>`: the run's device stack as a tree with live states, COW usage, delays; read only. */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
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

const STATES = ['present', 'missing', 'drifted', 'absent', 'in-doubt', 'unknown'] as const;
const LiveSchema = { expected: z.enum(['present', 'absent', 'in-doubt']), state: z.enum(STATES), detail: z.string().optional() };
const SegmentSchema = z.strictObject({ start: z.number(), length: z.number(), target: z.string(), args: z.array(z.string()), device: z.string().optional(), offset: z.number().optional(), cow: z.string().optional() });
const UsageSchema = z.strictObject({
  status: z.enum(['active', 'invalid', 'overflow', 'merge-failed', 'unknown']),
  allocatedSectors: z.number().optional(),
  totalSectors: z.number().optional(),
  metadataSectors: z.number().optional(),
  percent: z.number().min(0).max(100).optional(),
  warning: z.string().optional(),
});
interface Node {
  role: 'image' | 'file' | 'loop' | 'base' | 'snapshot' | 'cow' | 'delay' | 'mountpoint' | 'linear' | 'dm';
  name: string;
  step?: string;
  expected: string;
  state: (typeof STATES)[number];
  detail?: string;
  segments?: z.infer<typeof SegmentSchema>[];
  tableFrom?: 'kernel' | 'journal';
  cow?: Node;
  usage?: z.infer<typeof UsageSchema>;
  zram?: { origDataSize: number; comprDataSize: number; memUsedTotal: number; ratio: number | null };
  disksize?: number;
  delays?: { readMs: number; writeMs: number };
  readOnly?: boolean;
  dirs?: { step: string; paths: string[]; expected: string; state: string; detail?: string };
  children: Node[];
}
const NodeSchema: z.ZodType<Node> = z.lazy(() =>
  z.strictObject({
    role: z.enum(['image', 'file', 'loop', 'base', 'snapshot', 'cow', 'delay', 'mountpoint', 'linear', 'dm']),
    name: z.string(),
    step: z.string().optional(),
    ...LiveSchema,
    segments: z.array(SegmentSchema).optional(),
    tableFrom: z.enum(['kernel', 'journal']).optional(),
    cow: NodeSchema.optional(),
    usage: UsageSchema.optional(),
    zram: z.strictObject({ origDataSize: z.number(), comprDataSize: z.number(), memUsedTotal: z.number(), ratio: z.number().nullable() }).optional(),
    disksize: z.number().optional(),
    delays: z.strictObject({ readMs: z.number(), writeMs: z.number() }).optional(),
    readOnly: z.boolean().optional(),
    dirs: z.strictObject({ step: z.string(), paths: z.array(z.string()), ...LiveSchema }).optional(),
    children: z.array(NodeSchema),
  }),
);
const ShowSchema = z.strictObject({
  id: z.string(),
  workflow: z.string(),
  status: z.string(),
  outputs: z.record(z.string(), z.string()),
  steps: z.array(z.strictObject({ name: z.string(), kind: z.string(), title: z.string(), status: z.string(), lost: z.literal(true).optional(), outputs: z.record(z.string(), z.unknown()).optional(), error: z.object({ code: z.string(), message: z.string() }).optional() })),
  params: z.record(z.string(), z.unknown()),
  created: z.string(),
  updated: z.string(),
  live: z.record(z.string(), z.string()),
  tree: NodeSchema.nullable(),
  trees: z.array(NodeSchema).optional(),
  operator: z.object({ step: z.string(), reason: z.string(), commands: z.array(z.string()) }).optional(),
});

function show(id: string, extra: Record<string, string> = {}) {
  const r = sb.flow(['show', id, '--json'], extra);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return ShowSchema.parse(JSON.parse(r.stdout));
}

/** The nodes along the stack, root first (the snapshot's COW right after the snapshot). */
function flat(n: Node | null): Node[] {
  if (!n) return [];
  return [n, ...(n.cow ? [n.cow] : []), ...n.children.flatMap(flat)];
}
const role = (tree: Node | null, r: Node['role']) => flat(tree).find((n) => n.role === r)!;

function text(id: string): string {
  const r = sb.flow(['show', id]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

function snapshotRun(...extra: string[]): { id: string; img: string } {
  const img = sb.piImage();
  const r = sb.flow(['run', 'snapshot-image', '--image', img, '--size', '128M', '--cow-size', '1M', ...extra]);
  expect(r.code).toBe(0);
  return { id: runId(r), img };
}

describe('flow show snapshot-image', () => {
  it('shows image → loop → base (linear + zero) → snapshot (COW: zram, usage) → mount point, all present', () => {
    const { id, img } = snapshotRun();
    const out = text(id);
    const mnt = `${sb.runDir}/${id}/mnt`;
    const lines = out.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const order = [
      new RegExp(`^ {2}image ${img} {2}present$`),
      /^ {2}└─ loop \/dev\/loop0 {2}present {2}\(attach-image, read-only\)$/,
      new RegExp(`^ {5}└─ base /dev/mapper/flow-${id}-base {2}present {2}\\(create-base\\)$`),
      /^ {8}│ {2}linear {2}sectors 0-98303 \(48 MiB\) -> \/dev\/loop0 from sector 24576$/,
      /^ {8}│ {2}zero {4}sectors 98304-262143 \(80 MiB\): reads zeros$/,
      new RegExp(`^ {8}└─ snapshot /dev/mapper/flow-${id} {2}present {2}\\(create-snapshot\\)$`),
      new RegExp(`snapshot of /dev/mapper/flow-${id}-base, COW /dev/zram0, non-persistent, chunk 16 sectors$`),
      /│ {2}COW {2}\/dev\/zram0 {2}present {2}\(add-cow, 1 MiB\)$/,
      /│ {7}used \[█?░{19,20}\] \d+\.\d % {2}\d+ KiB of 1 MiB$/,
      /│ {7}zram \d+ KiB stored, [\d.]+ KiB compressed, ratio 3\.00, \d+ KiB of memory$/,
      new RegExp(`^ {11}└─ mountpoint ${mnt} {2}present {2}\\(mount\\)$`),
      /^ {17}directories made by the run: present$/,
    ];
    const found = order.map(at);
    expect(found.every((i) => i >= 0), out).toBe(true);
    expect([...found].sort((a, b) => a - b)).toEqual(found);
    expect(out).not.toMatch(/warning|INVALID|missing|drifted/);
    expect(out).not.toContain('\x1b['); // no colour without a terminal

    const s = show(id);
    expect(s).toMatchObject({ id, workflow: 'snapshot-image', status: 'done', outputs: { loop: '/dev/loop0', device: `/dev/mapper/flow-${id}` }, live: { 'attach-image': 'present', mount: 'present' } });
    expect(flat(s.tree).map((n) => [n.role, n.state])).toEqual([
      ['image', 'present'],
      ['loop', 'present'],
      ['base', 'present'],
      ['snapshot', 'present'],
      ['cow', 'present'],
      ['mountpoint', 'present'],
    ]);
    expect(role(s.tree, 'base').segments).toEqual([
      { start: 0, length: 98304, target: 'linear', args: ['7:0', '24576'], device: '/dev/loop0', offset: 24576 },
      { start: 98304, length: 163840, target: 'zero', args: [] },
    ]);
    const snap = role(s.tree, 'snapshot');
    expect(snap.usage).toMatchObject({ status: 'active', totalSectors: 2048 });
    expect(snap.usage!.percent!).toBeLessThan(80);
    expect(snap.usage!.warning).toBeUndefined();
    expect(snap.cow).toMatchObject({ role: 'cow', name: '/dev/zram0', step: 'add-cow', disksize: 1 << 20, zram: { ratio: 3 } });
  });

  it('from 80 % of the COW on: a warning; when it overflows: a loud INVALID', async () => {
    const { id } = snapshotRun();
    const k = await kernel();
    await k.writeDevice(`/dev/mapper/flow-${id}`, 0, new Uint8Array(850 * 1024).fill(7)); // 107 of 128 chunks
    const warn = text(id);
    expect(warn).toMatch(/used \[█{16,17}░{3,4}\] 83\.6 % {2}856 KiB of 1 MiB/);
    expect(warn).toContain('warning: the COW is 83.6 % full: when it is full the snapshot becomes invalid');
    expect(role(show(id).tree, 'snapshot').usage).toMatchObject({ status: 'active', percent: 83.6, warning: expect.stringContaining('83.6 % full') });

    await expect(k.writeDevice(`/dev/mapper/flow-${id}`, 1 << 20, new Uint8Array(256 * 1024))).rejects.toThrow(/COW device full/);
    const dead = text(id);
    expect(dead).toMatch(new RegExp(`└─ snapshot /dev/mapper/flow-${id} {2}present {2}INVALID {2}\\(create-snapshot\\)`));
    expect(dead).toContain(`!! INVALID: the COW overflowed; the snapshot is dead and what was written to it is lost; roll the run back: flow rollback ${id}`);
    expect(dead).not.toContain('used [');
    expect(role(show(id).tree, 'snapshot').usage).toMatchObject({ status: 'invalid', warning: expect.stringMatching(/^INVALID/) });
  });

  it('a device gone behind flow\'s back is missing; one not as the journal says is drifted, with why', async () => {
    const { id, img } = snapshotRun();
    const k = await kernel();
    await k.mounts.umount(`${sb.runDir}/${id}/mnt`);
    await k.suspendDm(`flow-${id}-base`);
    const copy = `${img}.new`;
    copyFileSync(img, copy);
    renameSync(copy, img); // same name, another inode
    const out = text(id);
    expect(out).toMatch(new RegExp(`^ {2}image ${img} {2}drifted$`, 'm'));
    expect(out).toMatch(/^ {2}│ {2}! another file now \(inode .*; the run was planned on .*\)$/m);
    expect(out).toMatch(new RegExp(`base /dev/mapper/flow-${id}-base {2}drifted {2}\\(create-base\\)\\n {8}│ {2}! flow-${id}-base is suspended`));
    expect(out).toMatch(new RegExp(`└─ mountpoint ${sb.runDir}/${id}/mnt {2}missing {2}\\(mount\\)`));
    const s = show(id);
    expect(flat(s.tree).map((n) => [n.role, n.state])).toEqual([
      ['image', 'drifted'],
      ['loop', 'present'],
      ['base', 'drifted'],
      ['snapshot', 'present'],
      ['cow', 'present'],
      ['mountpoint', 'missing'],
    ]);
    expect(role(s.tree, 'base').detail).toBe(`flow-${id}-base is suspended`);
    expect(role(s.tree, 'mountpoint')).toMatchObject({ expected: 'present', state: 'missing' });
  });

  it('a dm device removed (missing, with the table the journal recorded); after rollback everything is absent', async () => {
    const { id } = snapshotRun('--no-mount');
    const k = await kernel();
    await k.dm.remove(`FLOW-${id}-create-snapshot`);
    const out = text(id);
    expect(out).toMatch(new RegExp(`└─ snapshot /dev/mapper/flow-${id} {2}missing {2}\\(create-snapshot\\)\\n.*! no device with the run's UUID FLOW-${id}-create-snapshot\\n.*table as the journal recorded it \\(no live table\\):`));
    expect(out).not.toMatch(/└─ mountpoint/);
    expect(role(show(id).tree, 'snapshot')).toMatchObject({ state: 'missing', tableFrom: 'journal' });

    expect(sb.flow(['rollback', id]).code).toBe(0);
    const s = show(id);
    expect(s.status).toBe('rolled-back');
    expect(flat(s.tree).map((n) => n.state)).toEqual(['present', 'absent', 'absent', 'absent', 'absent']);
  });
});

describe('flow show delayed-device and loop-mount', () => {
  it('delayed-device: file → loop → delay (its delays) → mount point', () => {
    const r = sb.flow(['run', 'delayed-device', '--file', 'slow.img', '--size', '64M', '--read-delay', '10', '--write-delay', '200']);
    expect(r.code).toBe(0);
    const id = runId(r);
    const out = text(id);
    expect(out).toMatch(new RegExp(`^ {2}file ${sb.dir}/slow.img {2}present {2}\\(create-file\\)$`, 'm'));
    expect(out).toMatch(/^ {2}└─ loop \/dev\/loop0 {2}present {2}\(attach-file\)$/m);
    expect(out).toMatch(new RegExp(`^ {5}└─ delay /dev/mapper/flow-${id} {2}present {2}\\(create-delay\\)$`, 'm'));
    expect(out).toContain('delay   sectors 0-131071 (64 MiB) -> /dev/loop0: reads 10 ms, writes 200 ms');
    expect(out).toMatch(/^ {8}└─ mountpoint .* {2}present {2}\(mount\)$/m);
    const s = show(id);
    expect(flat(s.tree).map((n) => n.role)).toEqual(['file', 'loop', 'delay', 'mountpoint']);
    expect(role(s.tree, 'delay').delays).toEqual({ readMs: 10, writeMs: 200 });
  });

  it('delayed-device drift: another table under the run\'s UUID; then the loop bound to another file', async () => {
    const r = sb.flow(['run', 'delayed-device', '--file', 'slow.img', '--size', '64M', '--delay', '5', '--no-mount']);
    const id = runId(r);
    const uuid = `FLOW-${id}-create-delay`;
    const k = await kernel();
    await k.dm.remove(uuid);
    await k.dm.create({ name: `flow-${id}`, uuid, table: ['0 1000 zero'] });
    let s = show(id);
    expect(role(s.tree, 'delay')).toMatchObject({ state: 'drifted', detail: `flow-${id} has another table: 0 1000 zero`, tableFrom: 'kernel' });
    expect(text(id)).toMatch(new RegExp(`delay /dev/mapper/flow-${id} {2}drifted {2}\\(create-delay\\)\\n {11}! flow-${id} has another table: 0 1000 zero`));

    await k.dm.remove(uuid);
    await k.loop.detach('/dev/loop0');
    await k.loop.attach({ file: sb.extImage('other.ext4'), readOnly: false }); // takes /dev/loop0 again
    s = show(id);
    expect(role(s.tree, 'loop')).toMatchObject({ name: '/dev/loop0', state: 'drifted', detail: expect.stringContaining(`/dev/loop0 is bound to ${sb.dir}/other.ext4`) });
    expect(role(s.tree, 'delay')).toMatchObject({ state: 'missing', delays: { readMs: 5, writeMs: 5 } });
    expect(text(id)).toMatch(/└─ loop \/dev\/loop0 {2}drifted {2}\(attach-file\)\n {5}│ {2}! \/dev\/loop0 is bound to .*other\.ext4/);
  });

  it('loop-mount: file → loop → mount point', () => {
    sb.extImage();
    const r = sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only', '--mountpoint', 'mnt']);
    const id = runId(r);
    const s = show(id);
    expect(flat(s.tree).map((n) => [n.role, n.name, n.state])).toEqual([
      ['file', `${sb.dir}/rootfs.ext4`, 'present'],
      ['loop', '/dev/loop0', 'present'],
      ['mountpoint', `${sb.dir}/mnt`, 'present'],
    ]);
    expect(role(s.tree, 'mountpoint').dirs).toMatchObject({ step: 'make-mountpoint', paths: [`${sb.dir}/mnt`], state: 'present' });
    expect(text(id)).toMatch(new RegExp(`^ {2}file ${sb.dir}/rootfs.ext4 {2}present\\n {2}└─ loop /dev/loop0 {2}present {2}\\(attach-file, read-only\\)\\n {5}└─ mountpoint ${sb.dir}/mnt {2}present {2}\\(mount\\)$`, 'm'));
  });
});

describe('flow show is read only', () => {
  const files = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((n) => `${n} ${statSync(join(dir, n)).mtimeMs}`).sort();

  it('changes no journal, lock, file or kernel state', () => {
    const { id } = snapshotRun();
    const before = { kernel: readFileSync(sb.kernelFile, 'utf8'), files: files(sb.dir), journal: readFileSync(join(sb.stateDir, 'runs', `${id}.json`), 'utf8') };
    for (const args of [['show', id], ['show', id, '--json'], ['--verbose', 'show', id]]) expect(sb.flow(args).code).toBe(0);
    expect(readFileSync(sb.kernelFile, 'utf8')).toBe(before.kernel);
    expect(readFileSync(join(sb.stateDir, 'runs', `${id}.json`), 'utf8')).toBe(before.journal);
    expect(files(sb.dir)).toEqual(before.files);
  });

  it('works while another flow process holds the run: never takes its lock, shows a step in doubt', async () => {
    const img = sb.piImage();
    // held at the point flow reports (its command done, the outcome not recorded yet), and
    // stopped there while show runs
    const run = sb.spawnPaused(['run', 'snapshot-image', '--image', img, '--size', '128M', '--cow-size', '1M'], 'apply:add-cow:command-done', 5_000);
    await run.reached;
    run.child.kill('SIGSTOP');
    let s;
    try {
      // the run id, printed before that point, may still be on its way through the pipe
      for (const end = Date.now() + 10_000; !run.io.out.includes('\n') && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
      s = show(run.io.out.split('\n')[0]!.trim());
    } finally {
      run.child.kill('SIGCONT');
    }
    const id = run.io.out.split('\n')[0]!.trim();
    const closed = run.closed;
    expect(s.status).toBe('running');
    // zram has no owner mark: a device that appeared while add-cow is in doubt may be another program's (src/steps/kinds/zram-add.ts)
    expect(role(s.tree, 'cow')).toMatchObject({ expected: 'in-doubt', state: 'in-doubt', detail: expect.stringContaining('cannot tell whether it made them') });
    expect(role(s.tree, 'base').state).toBe('present');
    expect(role(s.tree, 'snapshot').state).toBe('absent');
    expect(await closed).toBe(0);
    expect(show(id).status).toBe('done');
  });
});

describe('flow show on a terminal', () => {
  const onTty = (args: string[], env: Record<string, string> = {}) => {
    const cmd = [process.execPath, MAIN, ...args].map((a) => `'${a}'`).join(' ');
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: sb.dir, env: sb.env({ TERM: 'xterm', ...env }), encoding: 'utf8' });
    return { code: r.status, out: r.stdout };
  };

  it('colours states on a TTY, never with NO_COLOR', () => {
    const { id } = snapshotRun();
    const tty = onTty(['show', id]);
    expect(tty.code).toBe(0);
    expect(tty.out).toContain('\x1b[32mpresent\x1b[39m');
    expect(tty.out).toContain('└─ \x1b[1mloop\x1b[22m /dev/loop0');
    const plain = onTty(['show', id], { NO_COLOR: '1' });
    expect(plain.code).toBe(0);
    expect(plain.out).toContain('/dev/loop0  present');
    expect(plain.out).not.toContain('\x1b[');
  });

  it('--help explains the states and has examples', () => {
    const r = sb.flow(['show', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/present, missing .* drifted/s);
    expect(r.stdout).toMatch(/Examples:\n {2}flow show k3m9x2ab\n {2}flow show k3m9x2ab --json/);
  });
});

describe('flow show of a run of a workflow file (none of the built-ins): the tree from its steps\' kinds', () => {
  const FIXTURE = fileURLToPath(new URL('../fixtures/workflows/linear-disk.yaml', import.meta.url));
  const start = (env: Record<string, string> = {}) => {
    copyFileSync(FIXTURE, join(sb.dir, 'linear-disk.yaml'));
    return sb.flow(['run', './linear-disk.yaml', '--file', 'disk.img', '--size', '16M'], env);
  };

  it('done: file → loop → linear → mount point, all present, the table as the kernel holds it', () => {
    const r = start();
    expect(r.code, r.stderr).toBe(0);
    const id = runId(r);
    const file = join(sb.dir, 'disk.img');
    const mnt = `${sb.runDir}/${id}/mnt`;
    const out = text(id);
    const lines = out.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const order = [
      /^devices:$/,
      new RegExp(`^ {2}file ${file} {2}present {2}\\(create-file\\)$`),
      /^ {2}└─ loop \/dev\/loop0 {2}present {2}\(attach-file\)$/,
      new RegExp(`^ {5}└─ linear /dev/mapper/disk-${id} {2}present {2}\\(create-linear\\)$`),
      /^ {8}│ {2}linear {2}sectors 0-32767 \(16 MiB\) -> \/dev\/loop0 from sector 0$/,
      new RegExp(`^ {8}└─ mountpoint ${mnt} {2}present {2}\\(mount\\)$`),
      /^ {14}directories made by the run: present$/,
    ];
    const found = order.map(at);
    expect(found.every((i) => i >= 0), out).toBe(true);
    expect([...found].sort((a, b) => a - b)).toEqual(found);
    const j = show(id);
    expect(j.trees).toBeUndefined();
    expect(flat(j.tree).map((n) => [n.role, n.step, n.state])).toEqual([
      ['file', 'create-file', 'present'],
      ['loop', 'attach-file', 'present'],
      ['linear', 'create-linear', 'present'],
      ['mountpoint', 'mount', 'present'],
    ]);
    expect(role(j.tree, 'linear').tableFrom).toBe('kernel');
    expect(role(j.tree, 'mountpoint').dirs).toMatchObject({ step: 'make-mountpoint', state: 'present' });
    expect(role(j.tree, 'mountpoint').dirs?.paths.at(-1)).toBe(mnt);
  });

  it('killed mid-step: the step in doubt, the steps not run yet absent, each in its place; rolled back: all absent', () => {
    const r = start({ FLOW_CRASH_AT: 'apply:create-linear:command-done' });
    expect(r.signal).toBe('SIGKILL');
    const id = sb.runs()[0]!.replace(/\.json$/, '');
    const j = show(id);
    expect(flat(j.tree).map((n) => [n.role, n.step, n.state])).toEqual([
      ['file', 'create-file', 'present'],
      ['loop', 'attach-file', 'present'],
      ['linear', 'create-linear', 'in-doubt'],
      ['mountpoint', 'mount', 'absent'],
    ]);
    expect(role(j.tree, 'linear').tableFrom).toBe('kernel');
    expect(sb.flow(['rollback', id]).code).toBe(0);
    const after = show(id);
    expect(after.trees).toBeUndefined();
    expect(flat(after.tree).map((n) => [n.role, n.state])).toEqual([
      ['file', 'absent'],
      ['loop', 'absent'],
      ['linear', 'absent'],
      ['mountpoint', 'absent'],
    ]);
  });

  it('two stacks (examples/try-image.yaml: the image and the COW store, each a file → loop): both drawn, --json adds them as trees', () => {
    const img = sb.piImage();
    const example = fileURLToPath(new URL('../../examples/try-image.yaml', import.meta.url));
    const r = sb.flow(['run', example, '--image', img, '--store', join(sb.dir, 'store.cow'), '--store-size', '4M']);
    expect(r.code, r.stderr).toBe(0);
    const id = runId(r);
    const lines = text(id).split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const found = [
      // the input under a snapshot is its image (never written to)
      new RegExp(`^ {2}image ${img} {2}present$`),
      /^ {2}└─ loop \/dev\/loop0 {2}present {2}\(attach-partition, read-only\)$/,
      new RegExp(`^ {5}└─ snapshot /dev/mapper/flow-${id} {2}present {2}\\(create-snapshot\\)$`),
      /^ {8}│ {2}used \[/,
      new RegExp(`^ {8}└─ mountpoint ${sb.runDir}/${id}/mnt {2}present {2}\\(mount\\)$`),
      new RegExp(`^ {2}file ${join(sb.dir, 'store.cow')} {2}present {2}\\(create-store\\)$`),
      /^ {2}└─ loop \/dev\/loop1 {2}present {2}\(attach-store\)$/,
    ].map(at);
    expect(found.every((i) => i >= 0), lines.join('\n')).toBe(true);
    expect([...found].sort((a, b) => a - b)).toEqual(found);
    const j = show(id);
    expect(j.trees?.map((t) => flat(t).map((n) => n.step ?? n.role))).toEqual([
      ['image', 'attach-partition', 'create-snapshot', 'mount'],
      ['create-store', 'attach-store'],
    ]);
    expect(j.tree).toEqual(j.trees![0]);
    expect(sb.flow(['rollback', id]).code).toBe(0);
  });

  it("a built-in's definition under another name (flow workflows --definition, edited): the same stack, the zram COW drawn as the snapshot's COW", () => {
    const img = sb.piImage();
    const def = sb.flow(['workflows', '--definition', 'snapshot-image']);
    expect(def.code).toBe(0);
    writeFileSync(join(sb.dir, 'mine.yaml'), def.stdout.replace(/^name: snapshot-image$/m, 'name: mine'));
    const r = sb.flow(['run', './mine.yaml', '--image', img, '--size', '128M', '--cow-size', '1M']);
    expect(r.code, r.stderr).toBe(0);
    const id = runId(r);
    const j = show(id);
    expect(j.workflow).toBe('mine');
    expect(j.trees).toBeUndefined();
    expect(flat(j.tree).map((n) => [n.role, n.step, n.state])).toEqual([
      ['image', undefined, 'present'],
      ['loop', 'attach-image', 'present'],
      ['base', 'create-base', 'present'],
      ['snapshot', 'create-snapshot', 'present'],
      ['cow', 'add-cow', 'present'],
      ['mountpoint', 'mount', 'present'],
    ]);
    expect(role(j.tree, 'snapshot').usage?.status).toBe('active');
    expect(role(j.tree, 'cow').zram?.origDataSize).toBeGreaterThan(0);
    expect(text(id)).toMatch(/│ {2}COW {2}\/dev\/zram0 {2}present {2}\(add-cow, 1 MiB\)/);
    expect(sb.flow(['rollback', id]).code).toBe(0);
  });
});
