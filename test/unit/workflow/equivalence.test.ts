/**
 * The bridge between the TypeScript workflows (machines/*.ts) and their YAML files
 * (machines/*.yaml): for the same params, the same steps (name, kind, title, durable),
 * the same resolved arguments step by step (dm tables included), the same outputs, and
 * the same CLI options. The engine can switch over once this holds.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { delayedDevice, type DelayedDeviceParams } from '../../../machines/delayed-device.js';
import { loopMount, type LoopMountParams } from '../../../machines/loop-mount.js';
import { snapshotImage, type SnapshotImageParams } from '../../../machines/snapshot-image.js';
import type { Json, OptionSpec, StepDef, WorkflowDef } from '../../../machines/types.js';
import type { Value } from '../../../src/workflow/evaluate.js';
import { loadText } from '../../../src/workflow/load.js';
import { optionOf } from '../../../src/workflow/params.js';
import { instantiate, resolveParams, type RunFacts } from '../../../src/workflow/resolve.js';

const RUN: RunFacts = { id: 'k3m9x2ab', dir: '/run/flow', uuid: '0b5c7a52-3f2e-4d8e-9a61-2c1f0e9d8b7a' };
const load = (name: string) => loadText(readFileSync(new URL(`../../../machines/${name}.yaml`, import.meta.url), 'utf8'), `machines/${name}.yaml`);

/** What a step returns when it is applied: the same made-up kernel numbers for both sides. */
function fakeOutputs(step: StepDef, args: Json, i: number): Json {
  switch (step.kind) {
    case 'file.create':
      return { path: args.path, dev: '8:1', ino: 4242 };
    case 'fs.mkfs':
      return { uuid: args.uuid };
    case 'loop.attach':
      return { device: `/dev/loop${i}`, node: `/dev/loop${i}`, majmin: `7:${i}`, readOnly: args.readOnly };
    case 'partitions.check':
      return { start: args.start, sectors: args.sectors };
    case 'dm.create':
      return { name: args.name, device: `/dev/mapper/${String(args.name)}`, node: `/dev/dm-${i}`, majmin: `253:${i}` };
    case 'zram.add':
      return { id: i, device: `/dev/zram${i}`, node: `/dev/zram${i}`, majmin: `252:${i}` };
    case 'dir.make':
      return { dirs: args.dirs };
    case 'mount':
      return { target: args.target };
    case 'fs.grow':
      return {};
    case 'fs.freeze':
      return { target: args.target, frozenBefore: false };
  }
}

/** Both workflows, run step by step on made-up outputs: every step's resolved args, and the outputs after each step. */
function runBoth<P>(ts: WorkflowDef<P>, tsParams: P, yamlName: string, yamlParams: Record<string, Value>) {
  const tsSteps = ts.steps(ts.parseParams(tsParams as Json), RUN.id);
  const inst = instantiate(load(yamlName), yamlParams, RUN);
  const shape = (s: StepDef) => ({ name: s.name, kind: s.kind, title: s.title, durable: s.durable });
  expect(inst.steps.map(shape)).toEqual(tsSteps.map(shape));
  const outputs: Record<string, Json> = {};
  const seen: string[] = [];
  // before any step, and after each: the run's outputs agree (a failed run prints what it has)
  expect(inst.outputs(outputs)).toEqual(ts.outputs(tsParams, outputs));
  for (const [i, s] of tsSteps.entries()) {
    const want = s.args(outputs);
    const got = inst.steps[i]!.args(outputs);
    expect(got, `args of ${s.name}`).toEqual(want);
    outputs[s.name] = fakeOutputs(s, want, i);
    seen.push(s.name);
    expect(inst.outputs(outputs), `outputs after ${s.name}`).toEqual(ts.outputs(tsParams, outputs));
  }
  return { steps: seen, args: tsSteps.map((s) => s.args(outputs)) };
}

function sameOptions(ts: WorkflowDef<any>, yamlName: string) {
  const wf = load(yamlName);
  const opts: OptionSpec[] = wf.params.map(([name, p]) => optionOf(name, p));
  expect(opts).toEqual(ts.options);
  expect(wf.description).toBe(ts.description);
  expect(wf.examples).toEqual(ts.examples);
  expect(wf.version).toBe(ts.version);
}

interface DelayedScenario {
  what: string;
  existing?: { size: number };
  size?: number;
  delay?: number;
  read?: number;
  write?: number;
  mount: boolean;
  mountpointExists?: boolean;
  sync: boolean;
}

const delayedScenarios: DelayedScenario[] = [
  { what: 'a new file, defaults', mount: true, sync: true },
  { what: 'a new file, one delay, no mount', size: 256 * 1024 ** 2, delay: 7, mount: false, sync: true },
  { what: 'an existing file not a whole number of sectors, split delays, no sync', existing: { size: 10 * 1024 ** 2 + 100 }, read: 0, write: 500, mount: true, sync: false },
  { what: 'an existing file, equal split delays (the short delay form), existing mount point', existing: { size: 64 * 1024 ** 2 }, read: 30, write: 30, mount: true, mountpointExists: true, sync: true },
];

describe('delayed-device.yaml = delayed-device.ts', () => {
  test('options, description, examples, version', () => sameOptions(delayedDevice, 'delayed-device'));
  test.each(delayedScenarios)('$what', (s) => {
    const file = '/var/tmp/slow.img';
    const mp = s.mountpointExists ? { path: '/mnt/slow', exists: true, create: [] } : { path: '/run/flow/k3m9x2ab/mnt', exists: false, create: ['/run/flow', '/run/flow/k3m9x2ab', '/run/flow/k3m9x2ab/mnt'] };
    const size = s.size ?? 1024 ** 3;
    const delay = s.delay ?? 100;
    const identity = s.existing ? { dev: '8:2', ino: 77 } : null;
    const ts: DelayedDeviceParams = {
      file,
      createFile: !s.existing,
      fileIdentity: identity,
      size: s.existing ? s.existing.size - (s.existing.size % 512) : size,
      readDelay: s.read ?? delay,
      writeDelay: s.write ?? delay,
      name: `flow-${RUN.id}`,
      fsUuid: RUN.uuid,
      mountpoint: s.mount ? mp.path : null,
      mountDirs: s.mount ? mp.create : [],
      sync: s.sync,
    };
    const yaml = {
      file: { path: file, identity, size: s.existing?.size ?? 0 },
      size,
      delay,
      'read-delay': s.read ?? delay,
      'write-delay': s.write ?? delay,
      name: `flow-${RUN.id}`,
      mountpoint: mp,
      mount: s.mount,
      sync: s.sync,
    };
    const r = runBoth(delayedDevice, ts, 'delayed-device', yaml);
    expect(r.steps.length).toBeGreaterThanOrEqual(2);
  });
  test('the delay table has 3 arguments when the delays are equal, 6 otherwise', () => {
    const base = { file: { path: '/f', identity: { dev: '8:2', ino: 7 }, size: 1024 * 1024 }, size: 0, delay: 0, name: 'd', mountpoint: { path: '/m', exists: true, create: [] }, mount: false, sync: true };
    const table = (r: number, w: number) => {
      const inst = instantiate(load('delayed-device'), { ...base, 'read-delay': r, 'write-delay': w }, RUN);
      return inst.steps.find((s) => s.name === 'create-delay')!.args({ 'attach-file': { majmin: '7:0' } }).table;
    };
    expect(table(5, 5)).toEqual(['0 2048 delay 7:0 0 5']);
    expect(table(0, 500)).toEqual(['0 2048 delay 7:0 0 0 7:0 0 500']);
  });
});

describe('params from options and defaults', () => {
  const host = { file: { path: '/var/tmp/slow.img', identity: null, size: 0 }, mountpoint: { path: '/run/flow/k3m9x2ab/mnt', exists: false, create: ['/run/flow/k3m9x2ab/mnt'] } };
  test('delayed-device: --read-delay and --write-delay default to --delay; the name to flow-<id>; switches on', () => {
    expect(resolveParams(load('delayed-device'), { delay: '7', 'write-delay': '500' }, host, RUN, '/')).toEqual({
      ...host,
      size: 1024 ** 3,
      delay: 7,
      'read-delay': 7,
      'write-delay': 500,
      name: 'flow-k3m9x2ab',
      mount: true,
      sync: true,
    });
  });
  test('delayed-device: the resolved params give the same steps as the TypeScript definition', () => {
    const yaml = resolveParams(load('delayed-device'), { size: '256M', sync: false }, host, RUN, '/');
    const ts: DelayedDeviceParams = {
      file: '/var/tmp/slow.img',
      createFile: true,
      fileIdentity: null,
      size: 256 * 1024 ** 2,
      readDelay: 100,
      writeDelay: 100,
      name: 'flow-k3m9x2ab',
      fsUuid: RUN.uuid,
      mountpoint: host.mountpoint.path,
      mountDirs: host.mountpoint.create,
      sync: false,
    };
    runBoth(delayedDevice, ts, 'delayed-device', yaml);
  });
  test('a required param missing, a bad value: refused as the options are', () => {
    expect(() => resolveParams(load('snapshot-image'), {}, {}, RUN, '/')).toThrow(/param image \(existing-file\) needs what preflight found/);
    expect(() => resolveParams(load('delayed-device'), { delay: '60001' }, host, RUN, '/')).toThrow('--delay 60001 is too large');
    expect(() => resolveParams(load('delayed-device'), { name: 'a b' }, host, RUN, '/')).toThrow(/--name "a b" has characters device-mapper would mangle/);
  });
});

describe('loop-mount.yaml = loop-mount.ts', () => {
  test('options, description, examples, version', () => sameOptions(loopMount, 'loop-mount'));
  test.each([
    { readOnly: false, exists: false },
    { readOnly: true, exists: false },
    { readOnly: true, exists: true },
  ])('read-only $readOnly, mount point exists $exists', ({ readOnly, exists }) => {
    const mp = exists ? { path: '/mnt/rootfs', exists: true, create: [] } : { path: '/run/flow/k3m9x2ab/mnt', exists: false, create: ['/run/flow/k3m9x2ab', '/run/flow/k3m9x2ab/mnt'] };
    const identity = { dev: '8:3', ino: 99 };
    const ts: LoopMountParams = { file: '/srv/rootfs.ext4', fileIdentity: identity, readOnly, mountpoint: mp.path, mountDirs: mp.create };
    runBoth(loopMount, ts, 'loop-mount', { file: { path: '/srv/rootfs.ext4', identity, size: 1 << 26 }, mountpoint: mp, 'read-only': readOnly });
  });
});

interface SnapScenario {
  what: string;
  partition: { number: number | null; start: number; sectors: number; filesystem: string | null };
  size: number;
  mount: boolean;
  grow: boolean;
}

const snapScenarios: SnapScenario[] = [
  { what: 'partition 2 smaller than --size: linear + zero, grow', partition: { number: 2, start: 24576, sectors: 98304, filesystem: 'ext4' }, size: 128 * 1024 ** 2, mount: true, grow: true },
  { what: 'a partition larger than --size: linear only, nothing to grow', partition: { number: 1, start: 2048, sectors: 20 * 1024 ** 2, filesystem: 'ext4' }, size: 5 * 1024 ** 3, mount: true, grow: true },
  { what: 'a whole image without a partition table', partition: { number: null, start: 0, sectors: 4096, filesystem: 'ext2' }, size: 8 * 1024 ** 2, mount: true, grow: true },
  { what: '--no-grow', partition: { number: 2, start: 8192, sectors: 8192, filesystem: 'ext4' }, size: 64 * 1024 ** 2, mount: true, grow: false },
  { what: 'a vfat filesystem is not grown', partition: { number: 1, start: 2048, sectors: 8192, filesystem: 'vfat' }, size: 64 * 1024 ** 2, mount: true, grow: true },
  { what: '--no-mount', partition: { number: 3, start: 2048, sectors: 8192, filesystem: null }, size: 64 * 1024 ** 2, mount: false, grow: true },
];

describe('snapshot-image.yaml = snapshot-image.ts', () => {
  test('options, description, examples, version', () => sameOptions(snapshotImage, 'snapshot-image'));
  test.each(snapScenarios)('$what', (s) => {
    const identity = { dev: '8:4', ino: 5 };
    const mp = { path: '/run/flow/k3m9x2ab/mnt', exists: false, create: ['/run/flow/k3m9x2ab/mnt'] };
    const isExt = s.partition.filesystem !== null && /^ext[234]$/.test(s.partition.filesystem);
    const ts: SnapshotImageParams = {
      image: '/srv/raspios.img',
      imageIdentity: identity,
      partition: s.partition.number,
      partStart: s.partition.start,
      partSectors: s.partition.sectors,
      size: s.size,
      cowSize: 16 * 1024 ** 2,
      chunk: 32,
      name: 'play',
      mountpoint: s.mount ? mp.path : null,
      mountDirs: s.mount ? mp.create : [],
      // what preflight makes of --no-grow
      grow: s.grow && s.mount && isExt,
    };
    const yaml = {
      image: { path: '/srv/raspios.img', identity, size: 1 << 30 },
      partition: s.partition,
      size: s.size,
      'cow-size': 16 * 1024 ** 2,
      chunk: 32,
      name: 'play',
      mountpoint: mp,
      mount: s.mount,
      grow: s.grow,
      'cow-file': { path: '', identity: null, size: 0 },
      'reuse-cow': false,
    };
    runBoth(snapshotImage, ts, 'snapshot-image', yaml);
  });
  test("the README's plan: linear + zero lines of create-base", () => {
    const inst = instantiate(
      load('snapshot-image'),
      {
        image: { path: '/srv/raspios.img', identity: { dev: '8:4', ino: 5 }, size: 1 << 30 },
        partition: { number: 2, start: 24576, sectors: 98304, filesystem: 'ext4' },
        size: 128 * 1024 ** 2,
        'cow-size': 1024 ** 2,
        chunk: 16,
        name: 'flow-cv9q2bfw',
        mountpoint: { path: '/run/flow/cv9q2bfw/mnt', exists: false, create: ['/run/flow/cv9q2bfw/mnt'] },
        mount: true,
        grow: true,
        'cow-file': { path: '', identity: null, size: 0 },
        'reuse-cow': false,
      },
      { ...RUN, id: 'cv9q2bfw' },
    );
    const base = inst.steps.find((s) => s.name === 'create-base')!;
    expect(base.title).toBe('create flow-cv9q2bfw-base (linear + zero)');
    expect(base.args({ 'attach-image': { majmin: '7:0' } })).toEqual({ name: 'flow-cv9q2bfw-base', uuid: 'FLOW-cv9q2bfw-create-base', table: ['0 98304 linear 7:0 24576', '98304 163840 zero'] });
  });
});
