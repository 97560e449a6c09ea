/** FakeKernel behaviours the real kernel has no counterpart for (or that the contract cannot reach). */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelCode } from '../../../src/errors.js';
import { realFs } from '../../../src/fs/real.js';
import { SimFs } from '../../../src/fs/sim.js';
import { createBackingFile } from '../../../src/kernel/files.js';
import { FakeKernel, openPersistedFakeKernel } from '../../../src/kernel/fake/index.js';
import { expectCode } from '../../contract/kernel-contract.js';

const MiB = 1024 * 1024;

async function setup(size = 8 * MiB) {
  const fs = new SimFs();
  fs.putDir('/w/mnt');
  fs.putFile('/w/a.img', { size });
  const kernel = new FakeKernel(fs);
  return { fs, kernel };
}

describe('FakeKernel: reboot', () => {
  it('drops every loop, dm, zram device and mount, changes the boot id, keeps files', async () => {
    const { fs, kernel } = await setup();
    await kernel.filesystems.mkfsExt4({ target: '/w/a.img', uuid: randomUUID(), blockSize: 4096 });
    const loop = await kernel.loop.attach({ file: '/w/a.img', readOnly: false });
    await kernel.dm.create({ name: 'x', uuid: 'FLOW-x', table: [`0 2048 linear ${loop.majmin} 0`] });
    const z = await kernel.zram.add();
    await kernel.mounts.mount({ source: loop.device, target: '/w/mnt', options: [] });
    const boot = await kernel.system.bootId();
    await kernel.reboot();
    expect(await kernel.system.bootId()).not.toBe(boot);
    expect(kernel.snapshotState()).toEqual({ loops: [], dm: [], zram: [], mounts: [] });
    expect((await fs.stat('/w/a.img')).size).toBe(8 * MiB);
    expect(await kernel.zram.add()).toBe(z);
  });
});

describe('FakeKernel: counters', () => {
  it('counts operations (every call of a changing op) and mutations (changes only)', async () => {
    const { kernel } = await setup();
    await kernel.loop.list();
    expect([kernel.operations, kernel.mutations]).toEqual([0, 0]);
    const loop = await kernel.loop.attach({ file: '/w/a.img', readOnly: false });
    expect([kernel.operations, kernel.mutations]).toEqual([1, 1]);
    await expectCode(kernel.loop.detach('/dev/loop9'), 'ENXIO');
    expect([kernel.operations, kernel.mutations]).toEqual([2, 1]);
    await kernel.dm.create({ name: 'h', uuid: 'FLOW-h', table: [`0 8 linear ${loop.majmin} 0`] });
    await expectCode(kernel.loop.detach(loop.device), 'EBUSY'); // sets autoclear: a change
    expect([kernel.operations, kernel.mutations]).toEqual([4, 3]);
    expect(kernel.log).toEqual(['loop.attach /w/a.img → ok', 'loop.detach /dev/loop9 → ENXIO', 'dm.create h → ok', `loop.detach ${loop.device} → EBUSY`]);
  });

  it('grow is idempotent: the second call changes nothing', async () => {
    const { kernel } = await setup(4 * MiB);
    await kernel.filesystems.mkfsExt4({ target: '/w/a.img', uuid: randomUUID(), blockSize: 4096 });
    const loop = await kernel.loop.attach({ file: '/w/a.img', readOnly: false });
    const dm = await kernel.dm.create({ name: 'g', uuid: 'FLOW-g', table: [`0 8192 linear ${loop.majmin} 0`, '8192 8192 zero'] });
    const dev = `/dev/dm-${dm.minor}`;
    await kernel.filesystems.grow(dev);
    expect((await kernel.filesystems.probe(dev))?.blockCount).toBe(2048);
    const before = kernel.mutations;
    await kernel.filesystems.grow(dev);
    expect(kernel.mutations).toBe(before);
  });
});

describe('FakeKernel: crash points', () => {
  it.each([
    ['created', '---w', false],
    ['loaded', '-I-w', true],
  ])('a crash at dm.create stage %s leaves attr %s', async (stage, attr, inactive) => {
    const { kernel } = await setup();
    kernel.setPointHook((_p, info) => {
      if (info.stage === stage) throw new Error('crash');
    });
    await expect(kernel.dm.create({ name: 'p', uuid: 'FLOW-p', table: ['0 1024 zero'] })).rejects.toThrow('crash');
    kernel.setPointHook(undefined);
    expect(await kernel.dm.info('p')).toMatchObject({ attr, live: false, inactive });
    expect(await kernel.dm.table('p')).toEqual([]);
    await expectCode(kernel.dm.create({ name: 'p', uuid: 'FLOW-q', table: ['0 1024 zero'] }), 'EEXIST');
    await kernel.dm.resume('p');
    expect((await kernel.dm.info('p'))?.attr).toBe(inactive ? 'L--w' : '---w');
    await kernel.dm.remove('FLOW-p');
    expect(await kernel.dm.list()).toEqual([]);
  });

  it('an atomic op offers its point before the effect', async () => {
    const { kernel } = await setup();
    const seen: string[] = [];
    kernel.onPoint = (point, info) => {
      seen.push(`${point} ${info.op} ${info.stage}`);
      throw new Error('crash');
    };
    await expect(kernel.loop.attach({ file: '/w/a.img', readOnly: false })).rejects.toThrow('crash');
    expect(seen).toEqual(['command-running loop.attach before']);
    expect(await kernel.loop.list()).toEqual([]);
  });
});

describe('FakeKernel: faults', () => {
  it.each([
    ['before (default): no effect', 'before' as const, 0],
    ['after: the effect happened, the caller hears an error', 'after' as const, 1],
  ])('%s', async (_n, when, devices) => {
    const { kernel } = await setup();
    await kernel.injectFault({ op: 'dm.create', code: 'ETIMEDOUT', times: 1, when });
    await expectCode(kernel.dm.create({ name: 'f', uuid: 'FLOW-f', table: ['0 8 zero'] }), 'ETIMEDOUT');
    expect((await kernel.dm.list()).length).toBe(devices);
    if (devices === 0) await kernel.dm.create({ name: 'f', uuid: 'FLOW-f', table: ['0 8 zero'] });
  });

  it('a failing load inside dm.create is reverted like libdevmapper does', async () => {
    const { kernel } = await setup();
    await kernel.injectFault({ op: 'dm.create.load', code: 'EIO', after: 1 });
    await kernel.dm.create({ name: 'ok', uuid: 'FLOW-ok', table: ['0 8 zero'] });
    await expectCode(kernel.dm.create({ name: 'f', uuid: 'FLOW-f', table: ['0 8 zero'] }), 'EIO');
    expect((await kernel.dm.list()).map((d) => d.name)).toEqual(['ok']);
    await kernel.clearFaults();
    await kernel.dm.create({ name: 'f', uuid: 'FLOW-f', table: ['0 8 zero'] });
  });
});

describe('FakeKernel: persistence', () => {
  it('a second process sees the first one’s devices; toJSON/fromJSON round-trips', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flow-fakek-'));
    try {
      const state = join(dir, 'kernel.json');
      const file = join(dir, 'b.img');
      await createBackingFile(realFs, file, 4 * MiB);
      const first = await openPersistedFakeKernel(state, realFs, { memTotal: 2 * 1024 ** 3 });
      const loop = await first.loop.attach({ file, readOnly: true });
      const z = await first.zram.add();
      const second = await openPersistedFakeKernel(state, realFs);
      expect(await second.system.bootId()).toBe(await first.system.bootId());
      expect(await second.system.memTotal()).toBe(2 * 1024 ** 3);
      expect(await second.loop.list()).toEqual([loop]);
      await second.zram.remove(z);
      expect(await first.zram.list()).toEqual([]);
      await first.refresh();
      expect([first.operations, first.mutations]).toEqual([3, 3]);
      const copy = FakeKernel.fromJSON(JSON.stringify(first.toJSON()), realFs);
      expect(copy.snapshotState()).toEqual(first.snapshotState());
      await second.reboot();
      expect(await first.loop.list()).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the state is saved before a crash point, so a killed process leaves it behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flow-fakek-'));
    try {
      const state = join(dir, 'kernel.json');
      const k = await openPersistedFakeKernel(state, realFs);
      k.setPointHook(() => {
        throw new Error('SIGKILL');
      });
      await expect(k.dm.create({ name: 'p', uuid: 'FLOW-p', table: ['0 8 zero'] })).rejects.toThrow('SIGKILL');
      const after = await openPersistedFakeKernel(state, realFs);
      expect((await after.dm.info('p'))?.attr).toBe('---w');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('FakeKernel: device semantics', () => {
  it.each([
    ['gap', ['0 8 zero', '16 8 zero'], 'EINVAL'],
    ['unknown target', ['0 8 mirror'], 'EINVAL'],
    ['delay with 4 args', ['0 8 delay 7:0 0 1 2'], 'EINVAL'],
    ['snapshot chunk not a power of two', ['0 8 snapshot 7:0 7:0 N 12'], 'EINVAL'],
    ['snapshot chunk below 8', ['0 8 snapshot 7:0 7:0 N 4'], 'EINVAL'],
    ['linear past the end', ['0 16385 linear 7:0 0'], 'EINVAL'],
    ['missing device', ['0 8 linear 7:9 0'], 'ENXIO'],
    ['newline in a line', ['0 8 zero\n8 8 zero'], 'EINVAL'],
    ['name too long', null, 'EINVAL'],
  ])('dm table/name: %s → %s', async (_n, table, code) => {
    const { kernel } = await setup();
    await kernel.loop.attach({ file: '/w/a.img', readOnly: false });
    const name = table ? 't' : 'n'.repeat(128);
    await expectCode(kernel.dm.create({ name, uuid: 'FLOW-t', table: table ?? ['0 8 zero'] }), code as 'EINVAL');
    expect(await kernel.dm.list()).toEqual([]);
  });

  it('snapshot writes go to the COW, not the origin; a full COW makes it Invalid', async () => {
    const { kernel } = await setup();
    const origin = await kernel.loop.attach({ file: '/w/a.img', readOnly: true });
    const id = await kernel.zram.add();
    await kernel.zram.configure(id, { disksize: 64 * 1024 });
    const snap = await kernel.dm.create({ name: 's', uuid: 'FLOW-s', table: [`0 16384 snapshot ${origin.majmin} 252:${id} N 8`] });
    const dev = `/dev/dm-${snap.minor}`;
    const uuid = randomUUID();
    await kernel.filesystems.mkfsExt4({ target: dev, uuid, blockSize: 4096 });
    expect(await kernel.filesystems.probe(dev)).toMatchObject({ uuid });
    expect(await kernel.filesystems.probe('/w/a.img')).toBeNull();
    expect(await kernel.dm.status('s')).toEqual(['0 16384 snapshot 8/128 0']);
    expect((await kernel.zram.usage(id)).origDataSize).toBe(4096);
    const tiny = await kernel.zram.add();
    await kernel.zram.configure(tiny, { disksize: 4096 });
    const dead = await kernel.dm.create({ name: 'd', uuid: 'FLOW-d', table: [`0 16384 snapshot ${origin.majmin} 252:${tiny} N 16`] });
    await expectCode(kernel.filesystems.mkfsExt4({ target: `/dev/dm-${dead.minor}`, uuid, blockSize: 4096 }), 'EIO');
    expect(await kernel.dm.status('d')).toEqual(['0 16384 snapshot Invalid']);
  });

  it('writes to a read-only loop are EPERM', async () => {
    const { kernel } = await setup();
    const loop = await kernel.loop.attach({ file: '/w/a.img', readOnly: true });
    await expectCode(kernel.filesystems.mkfsExt4({ target: loop.device, uuid: randomUUID(), blockSize: 4096 }), 'EPERM');
  });

  it('mount errors: no filesystem, missing target or source, fs larger than the device', async () => {
    const { kernel } = await setup();
    const loop = await kernel.loop.attach({ file: '/w/a.img', readOnly: false });
    await expectCode(kernel.mounts.mount({ source: loop.device, target: '/w/mnt', options: [] }), 'EINVAL');
    await expectCode(kernel.mounts.mount({ source: loop.device, target: '/w/nope', options: [] }), 'ENOENT');
    await expectCode(kernel.mounts.mount({ source: '/dev/loop7', target: '/w/mnt', options: [] }), 'ENOENT');
    await kernel.filesystems.mkfsExt4({ target: loop.device, uuid: randomUUID(), blockSize: 4096 });
    const small = await kernel.loop.attach({ file: '/w/a.img', readOnly: true, sizeLimit: MiB });
    const err = await kernel.mounts.mount({ source: small.device, target: '/w/mnt', options: [] }).catch((e: unknown) => e);
    expect(kernelCode(err)).toBe('EINVAL');
    expect(String(err)).toMatch(/bad geometry/);
  });

  it('umount: EBUSY while held or with a mount below; ETIMEDOUT while the dm device is suspended', async () => {
    const { fs, kernel } = await setup();
    fs.putDir('/w/mnt/inner');
    await kernel.filesystems.mkfsExt4({ target: '/w/a.img', uuid: randomUUID(), blockSize: 4096 });
    const loop = await kernel.loop.attach({ file: '/w/a.img', readOnly: true });
    const dm = await kernel.dm.create({ name: 'm', uuid: 'FLOW-m', table: [`0 16384 linear ${loop.majmin} 0`] });
    await kernel.mounts.mount({ source: '/dev/mapper/m', target: '/w/mnt', options: [] });
    await kernel.mounts.mount({ source: loop.device, target: '/w/mnt/inner', options: ['ro'] });
    const [outer, inner] = await kernel.mounts.list();
    expect(inner).toMatchObject({ parentId: outer!.id, options: ['ro', 'relatime'], majmin: loop.majmin });
    await expectCode(kernel.mounts.umount('/w/mnt'), 'EBUSY');
    await kernel.mounts.umount('/w/mnt/inner');
    await kernel.holdMount('/w/mnt');
    await expectCode(kernel.mounts.umount('/w/mnt'), 'EBUSY');
    await kernel.releaseMount('/w/mnt');
    await kernel.suspendDm('m');
    expect((await kernel.dm.info('m'))?.attr).toBe('L-sw');
    await expectCode(kernel.mounts.umount('/w/mnt'), 'ETIMEDOUT');
    await kernel.dm.resume('m');
    await kernel.mounts.umount('/w/mnt');
    await kernel.dm.remove(dm.uuid);
  });

  it('an outside opener keeps a lazily detached loop until it closes', async () => {
    const { kernel } = await setup();
    const loop = await kernel.loop.attach({ file: '/w/a.img', readOnly: false });
    await kernel.openDevice(loop.device);
    await expectCode(kernel.loop.detach(loop.device), 'EBUSY');
    expect((await kernel.loop.list())[0]?.autoclear).toBe(true);
    await kernel.closeDevice(loop.device);
    expect(await kernel.loop.list()).toEqual([]);
  });

  it('zram: lowest free id, unknown algorithm EINVAL, disksize rounded to a page', async () => {
    const { kernel } = await setup();
    expect([await kernel.zram.add(), await kernel.zram.add()]).toEqual([0, 1]);
    await kernel.zram.remove(0);
    expect(await kernel.zram.add()).toBe(0);
    await expectCode(kernel.zram.configure(1, { disksize: MiB, algorithm: 'nope' }), 'EINVAL');
    await kernel.zram.configure(1, { disksize: 5000, algorithm: 'zstd' });
    expect((await kernel.zram.list())[1]).toMatchObject({ disksize: 8192, algorithm: 'zstd', majmin: '252:1' });
    await expectCode(kernel.zram.usage(7), 'ENXIO');
  });

  it('blockDeviceSize: ENOENT for no device, EINVAL for a regular file', async () => {
    const { kernel } = await setup();
    await expectCode(kernel.system.blockDeviceSize('/dev/loop0'), 'ENOENT');
    await expectCode(kernel.system.blockDeviceSize('/w/a.img'), 'EINVAL');
  });

  it('works over a SimFs: backing file identity is checked on I/O', async () => {
    const { fs, kernel } = await setup();
    const loop = await kernel.loop.attach({ file: '/w/a.img', readOnly: false });
    await fs.unlink('/w/a.img');
    await createBackingFile(fs, '/w/a.img', 8 * MiB);
    await expectCode(kernel.filesystems.probe(loop.device), 'EIO');
  });
});
