/**
 * The example workflow files (examples/*.yaml) pass `flow check`, and resolve with
 * sample params to the steps, tables and arguments the README describes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { checkText } from '../../../src/workflow/load.js';
import { instantiate } from '../../../src/workflow/resolve.js';

const dir = new URL('../../../examples/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();

describe('examples/', () => {
  test('ships the flaky disk, the RAM scratch disk and more', () => {
    expect(files).toEqual(expect.arrayContaining(['flaky-disk.yaml', 'ram-scratch.yaml']));
    expect(files.length).toBeGreaterThanOrEqual(3);
  });

  test.each(files)('%s passes flow check', (f) => {
    const r = checkText(readFileSync(new URL(f, dir), 'utf8'), `examples/${f}`);
    expect(r.problems.map((p) => `${p.pos.line}:${p.pos.col} ${p.message} (${p.fix})`)).toEqual([]);
    expect(r.workflow?.name).toBe(f.replace(/\.yaml$/, ''));
  });
});

describe('examples resolve to the kernel arguments they promise', () => {
  const load = (f: string) => checkText(readFileSync(new URL(f, dir), 'utf8'), f).workflow!;
  const run = { id: 'k3m9x2ab', dir: '/run/flow', uuid: '5a1e7c2d-0b9f-4e3a-8c61-2f0d9e8b7a65' };
  const mnt = { path: '/run/flow/k3m9x2ab/mnt', exists: false, create: ['/run/flow/k3m9x2ab', '/run/flow/k3m9x2ab/mnt'] };
  const loopOut = (n: number) => ({ device: `/dev/loop${n}`, node: `/dev/loop${n}`, majmin: `7:${n}`, readOnly: false });
  const dmOut = { name: 'flow-k3m9x2ab', device: '/dev/mapper/flow-k3m9x2ab', node: '/dev/dm-0', majmin: '253:0' };

  test.each([
    ['fail', '0 524288 flakey 7:0 0 60 5 0'],
    ['drop-writes', '0 524288 flakey 7:0 0 60 5 1 drop_writes'],
    ['fail-writes', '0 524288 flakey 7:0 0 60 5 1 error_writes'],
  ])('flaky-disk, while down %s: file → mkfs → loop → flakey → mount', (whileDown, line) => {
    const params = { file: { path: '/var/tmp/flaky.img', identity: null, size: 0 }, size: 256 << 20, up: 60, down: 5, 'while-down': whileDown, name: 'flow-k3m9x2ab', mountpoint: mnt };
    const inst = instantiate(load('flaky-disk.yaml'), params, run);
    expect(inst.steps.map((s) => s.kind)).toEqual(['file.create', 'fs.mkfs', 'loop.attach', 'dm.create', 'dir.make', 'mount']);
    const outs = { 'create-file': { path: '/var/tmp/flaky.img', dev: '8:1', ino: 12 }, 'make-filesystem': { uuid: run.uuid }, 'attach-file': loopOut(0), 'create-flakey': dmOut };
    expect(inst.steps[1]!.args(outs)).toEqual({ target: '/var/tmp/flaky.img', uuid: run.uuid });
    expect(inst.steps[2]!.args(outs)).toEqual({ file: '/var/tmp/flaky.img', identity: { dev: '8:1', ino: 12 } });
    expect(inst.steps[3]!.args(outs)).toEqual({ name: 'flow-k3m9x2ab', uuid: 'FLOW-k3m9x2ab-create-flakey', table: [line] });
    expect(inst.steps[5]!.args(outs)).toEqual({ source: '/dev/dm-0', majmin: '253:0', target: mnt.path });
  });

  test.each([
    ['ext4', true, []],
    ['vfat', false, ['noatime']],
  ])('ram-scratch %s: zram → mkfs on the zram device → mount', (filesystem, atime, options) => {
    const params = { size: 256 << 20, filesystem, algorithm: 'lzo-rle', atime, mountpoint: { ...mnt, exists: true, create: [] } };
    const inst = instantiate(load('ram-scratch.yaml'), params, run);
    expect(inst.steps.map((s) => s.kind)).toEqual(['zram.add', 'fs.mkfs', 'mount']);
    const outs = { 'add-ram': { id: 1, device: '/dev/zram1', node: '/dev/zram1', majmin: '252:1' } };
    expect(inst.steps[0]!.args(outs)).toEqual({ disksize: 256 << 20, algorithm: 'lzo-rle' });
    expect(inst.steps[1]!.args(outs)).toEqual({ target: '/dev/zram1', uuid: run.uuid, type: filesystem });
    expect(inst.steps[2]!.args(outs)).toEqual({ source: '/dev/zram1', majmin: '252:1', target: mnt.path, options });
  });

  test('try-image: the partition as a read-only loop with offset and size limit, a persistent snapshot on a store file', () => {
    const params = {
      image: { path: '/img/pi.img', identity: { dev: '8:1', ino: 7 }, size: 1 << 30 },
      partition: { number: 2, start: 8192, sectors: 65536, filesystem: 'ext4' },
      store: '/var/tmp/try.cow',
      'store-size': 64 << 20,
      name: 'flow-k3m9x2ab',
      mountpoint: mnt,
    };
    const inst = instantiate(load('try-image.yaml'), params, run);
    expect(inst.steps.map((s) => s.kind)).toEqual(['partitions.check', 'loop.attach', 'file.create', 'loop.attach', 'dm.create', 'dir.make', 'mount']);
    const outs = { 'attach-partition': loopOut(0), 'create-store': { path: '/var/tmp/try.cow', dev: '8:1', ino: 9 }, 'attach-store': loopOut(1), 'create-snapshot': dmOut };
    expect(inst.steps[1]!.args(outs)).toEqual({ file: '/img/pi.img', identity: { dev: '8:1', ino: 7 }, readOnly: true, offset: 8192 * 512, sizeLimit: 65536 * 512 });
    expect(inst.steps[4]!.args(outs)).toMatchObject({ table: ['0 65536 snapshot 7:0 7:1 P 8'] });
  });
});
