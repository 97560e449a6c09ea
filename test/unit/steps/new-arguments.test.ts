/**
 * Issue 9 §5: the new step arguments reach the kernel, and probes and inverses stay exact:
 * fs.mkfs of vfat and of a block device (never over another filesystem), mount read-only
 * and bind (probe by target + source), loop.attach's defaults, a flakey table that reads
 * back equal.
 */
import { describe, expect, it } from 'vitest';
import { SimFs } from '../../../src/fs/sim.js';
import { FakeKernel } from '../../../src/kernel/fake/kernel.js';
import { dmCreate } from '../../../src/steps/kinds/dm-create.js';
import { loopAttach, type LoopArgs } from '../../../src/steps/kinds/loop-attach.js';
import { mountStep, type MountArgs } from '../../../src/steps/kinds/mount.js';
import { fsMkfs } from '../../../src/steps/kinds/fs-mkfs.js';
import { renderTable } from '../../../src/workflow/dm-table.js';

const MiB = 1 << 20;
const UUID = '5a1e7c2d-0b9f-4e3a-8c61-2f0d9e8b7a65';

async function setup() {
  const fs = new SimFs();
  fs.putDir('/img', { durable: true });
  fs.putDir('/mnt', { durable: true });
  fs.putDir('/mnt/a', { durable: true });
  fs.putDir('/mnt/b', { durable: true });
  fs.putFile('/img/a.img', { size: 16 * MiB }, { durable: true });
  const k = new FakeKernel(fs);
  const st = await fs.stat('/img/a.img');
  return { k, fs, identity: { dev: st.dev, ino: st.ino }, env: { kernel: k, midpoint: () => undefined } };
}

describe('fs.mkfs', () => {
  it('vfat: the volume id is the UUID’s first 8 hex digits; probe finds it applied by type and UUID', async () => {
    const { k, env } = await setup();
    const a = { target: '/img/a.img', uuid: UUID, type: 'vfat' };
    expect(fsMkfs.commands(a).apply).toEqual(['mkfs.vfat -i 5A1E7C2D -- /img/a.img']);
    expect(await fsMkfs.probe(a, {}, undefined, env)).toEqual({ found: 'absent' });
    expect(await fsMkfs.apply(a, {}, env)).toEqual({ uuid: '5A1E-7C2D' });
    expect(await k.filesystems.probe('/img/a.img')).toMatchObject({ type: 'vfat', uuid: '5A1E-7C2D' });
    expect(await fsMkfs.probe(a, {}, undefined, env)).toEqual({ found: 'applied', outputs: { uuid: '5A1E-7C2D' } });
    // the same UUID as ext4 is another filesystem: not this step's
    expect(await fsMkfs.probe({ ...a, type: 'ext4' }, {}, undefined, env)).toEqual({ found: 'absent' });
  });

  it('on a block device the run made (zram): ext4 with 4 KiB blocks by default', async () => {
    const { k, env } = await setup();
    const id = await k.zram.add();
    await k.zram.configure(id, { disksize: 32 * MiB });
    const a = { target: `/dev/zram${id}`, uuid: UUID };
    expect(await fsMkfs.apply(a, {}, env)).toEqual({ uuid: UUID });
    expect(await k.filesystems.probe(a.target)).toMatchObject({ type: 'ext4', uuid: UUID, blockSize: 4096 });
  });

  it('refuses a target that holds another filesystem (EEXIST) and leaves it as it was; an unknown type is EINVAL', async () => {
    const { k, env } = await setup();
    await k.filesystems.mkfsExt4({ target: '/img/a.img', uuid: '0b5e1f2d-3c4a-4d5e-8f60-718293a4b5c6', blockSize: 4096 });
    await expect(fsMkfs.apply({ target: '/img/a.img', uuid: UUID, type: 'vfat' }, {}, env)).rejects.toMatchObject({ code: 'EEXIST', message: expect.stringContaining('already holds a ext4 filesystem') });
    expect(await k.filesystems.probe('/img/a.img')).toMatchObject({ type: 'ext4', uuid: '0b5e1f2d-3c4a-4d5e-8f60-718293a4b5c6' });
    await expect(fsMkfs.apply({ target: '/img/a.img', uuid: UUID, type: 'xfs' }, {}, env)).rejects.toMatchObject({ code: 'EINVAL' });
  });
});

describe('loop.attach', () => {
  it('readOnly, offset and sizeLimit may be left out (read-write, whole file); given, they reach the kernel and the probe matches on them', async () => {
    const { k, identity, env } = await setup();
    const bare: LoopArgs = { file: '/img/a.img', identity };
    const out = await loopAttach.apply(bare, await loopAttach.observe!(bare, env), env);
    expect(await k.loop.list()).toMatchObject([{ device: out.device, readOnly: false, offset: 0, sizeLimit: 0 }]);
    expect((await loopAttach.probe(bare, {}, out, env)).found).toBe('applied');
    const part: LoopArgs = { file: '/img/a.img', identity, offset: 2 * MiB, sizeLimit: 4 * MiB };
    const out2 = await loopAttach.apply(part, await loopAttach.observe!(part, env), env);
    expect((await k.loop.list()).find((l) => l.device === out2.device)).toMatchObject({ readOnly: false, offset: 2 * MiB, sizeLimit: 4 * MiB });
    expect(await k.system.blockDeviceSize(out2.device as string)).toBe(4 * MiB);
    expect(loopAttach.commands(part, out2).apply).toEqual(['losetup --find --show --offset 2097152 --sizelimit 4194304 -- /img/a.img']);
    // each binding is its own: undo of the whole-file one leaves the partial one
    await loopAttach.undo(bare, out, env);
    expect((await k.loop.list()).map((l) => l.device)).toEqual([out2.device]);
    expect((await loopAttach.probe(part, {}, out2, env)).found).toBe('applied');
  });
});

describe('mount', () => {
  async function mounted() {
    const s = await setup();
    await s.k.filesystems.mkfsExt4({ target: '/img/a.img', uuid: UUID, blockSize: 4096 });
    const loop = await s.k.loop.attach({ file: '/img/a.img', readOnly: false });
    return { ...s, loop };
  }

  it('readOnly and options reach mount(8); probe finds it applied', async () => {
    const { k, loop, env } = await mounted();
    const a: MountArgs = { source: loop.device, majmin: loop.majmin, target: '/mnt/a', options: ['noatime'], readOnly: true };
    expect(mountStep.commands(a).apply).toEqual([`mount -o ro,noatime -- ${loop.device} /mnt/a`]);
    await mountStep.apply(a, {}, env);
    expect((await k.mounts.list())[0]!.options).toEqual(['ro', 'noatime']);
    expect(await mountStep.probe(a, {}, undefined, env)).toEqual({ found: 'applied', outputs: { target: '/mnt/a' } });
  });

  it('read-only asked, read-write found (a crash between bind and remount): partial; clean unmounts it', async () => {
    const { k, loop, env } = await mounted();
    await k.mounts.mount({ source: loop.device, target: '/mnt/a', options: [] });
    const a: MountArgs = { source: loop.device, majmin: loop.majmin, target: '/mnt/a', readOnly: true };
    expect(await mountStep.probe(a, {}, undefined, env)).toMatchObject({ found: 'partial' });
    await mountStep.clean(a, {}, env);
    expect(await k.mounts.list()).toEqual([]);
  });

  it('bind: probe matches target + source; another directory bound at the target is not the run’s and is never unmounted', async () => {
    const { k, fs, loop, env } = await mounted();
    await k.mounts.mount({ source: loop.device, target: '/mnt/a', options: [] });
    fs.putDir('/mnt/a/data', { durable: true });
    fs.putDir('/mnt/a/other', { durable: true });
    const a: MountArgs = { source: '/mnt/a/data', target: '/mnt/b', bind: true, readOnly: true };
    expect(mountStep.commands(a).apply).toEqual(['mount -o bind,ro -- /mnt/a/data /mnt/b']);
    await mountStep.apply(a, {}, env);
    expect((await k.mounts.list()).find((m) => m.target === '/mnt/b')).toMatchObject({ majmin: loop.majmin, root: '/data', options: ['ro', 'relatime'] });
    expect(await mountStep.probe(a, {}, undefined, env)).toEqual({ found: 'applied', outputs: { target: '/mnt/b' } });
    const other = { ...a, source: '/mnt/a/other' };
    expect(await mountStep.probe(other, {}, undefined, env)).toEqual({ found: 'absent' });
    await mountStep.undo(other, {}, env);
    expect((await k.mounts.list()).some((m) => m.target === '/mnt/b')).toBe(true);
    await mountStep.undo(a, {}, env);
    expect((await k.mounts.list()).map((m) => m.target)).toEqual(['/mnt/a']);
  });

  it('a device mount without majmin is refused before anything is mounted', async () => {
    const { k, loop, env } = await mounted();
    await expect(mountStep.apply({ source: loop.device, target: '/mnt/a' }, {}, env)).rejects.toMatchObject({ code: 'EINVAL' });
    expect(await k.mounts.list()).toEqual([]);
  });
});

describe('dm.create with a flakey table', () => {
  it('the table flow renders is the one the kernel prints back: probe finds it applied, undo removes it', async () => {
    const { k, identity, env } = await setup();
    const loop = await loopAttach.apply({ file: '/img/a.img', identity }, {}, env);
    for (const features of [undefined, ['drop_writes']]) {
      const table = renderTable([{ target: 'flakey', sectors: 32768, fields: { device: loop.majmin as string, offset: 0, up: 60, down: 5, features } }]);
      const a = { name: 'flow-flaky', uuid: 'FLOW-t3st1234-flakey', table };
      const out = await dmCreate.apply(a, {}, env);
      expect(await dmCreate.probe(a, {}, out, env)).toMatchObject({ found: 'applied' });
      await dmCreate.undo(a, out, env);
      expect(await k.dm.list()).toEqual([]);
    }
  });
});
