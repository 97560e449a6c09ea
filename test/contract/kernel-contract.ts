/**
 * The kernel contract: one suite of cases that every `Kernel` must pass — the fake one
 * here, the real one inside the kernel lab. Every case uses only the `Kernel` interface
 * and files under `workdir`, assumes no device numbers, touches no device it did not
 * create, and undoes everything it created, even when it fails (see `Scope`).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kernelCode, type KernelErrorCode } from '../../src/errors.js';
import { buildTestImage } from '../../src/kernel/fake/test-image.js';
import { createBackingFile, makeDirs, removeOwnedDirs, removeOwnedFile } from '../../src/kernel/files.js';
import type { DmInfo, Kernel, LoopAttachArgs, LoopInfo, MountEntry, ZramInfo } from '../../src/kernel/types.js';

/** What a contract run needs: a kernel, a scratch directory on its `fs`, and a final cleanup. */
export interface ContractEnv {
  kernel: Kernel;
  workdir: string;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;

/** Expects `p` to reject with a KernelError of `code`. */
export async function expectCode(p: Promise<unknown>, code: KernelErrorCode): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected ${code}, but it succeeded`).toBeDefined();
  expect(kernelCode(err) ?? err).toBe(code);
}

/** Polls `check` until true (the real kernel lets go of a lazily detached loop asynchronously). */
async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Creates kernel objects for one case and registers their undo, run in reverse order afterwards. */
class Scope {
  readonly tag = randomBytes(4).toString('hex');
  private readonly undo: { what: string; fn: () => Promise<void> }[] = [];
  constructor(readonly env: ContractEnv) {}

  get k(): Kernel {
    return this.env.kernel;
  }

  defer(what: string, fn: () => Promise<void>): void {
    this.undo.push({ what, fn });
  }

  async close(): Promise<string[]> {
    const errors: string[] = [];
    for (const u of this.undo.reverse()) {
      try {
        await u.fn();
      } catch (err) {
        errors.push(`${u.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return errors;
  }

  async file(name: string, size: number): Promise<string> {
    const path = join(this.env.workdir, `${this.tag}-${name}`);
    const identity = await createBackingFile(this.k.fs, path, size);
    this.defer(`file ${path}`, () => removeOwnedFile(this.k.fs, path, identity).then(() => undefined));
    return path;
  }

  async image(name: string, spec: Parameters<typeof buildTestImage>[2]): Promise<string> {
    const path = join(this.env.workdir, `${this.tag}-${name}`);
    await buildTestImage(this.k.fs, path, spec);
    const st = await this.k.fs.lstat(path);
    this.defer(`image ${path}`, () => removeOwnedFile(this.k.fs, path, st).then(() => undefined));
    return path;
  }

  async dir(name: string): Promise<string> {
    const path = join(this.env.workdir, `${this.tag}-${name}`);
    await makeDirs(this.k.fs, [path], 0o755);
    this.defer(`dir ${path}`, () => removeOwnedDirs(this.k.fs, [path]).then(() => undefined));
    return path;
  }

  async loop(args: LoopAttachArgs): Promise<LoopInfo> {
    const info = await this.k.loop.attach(args);
    this.defer(`loop ${info.device}`, async () => {
      if (await this.ourLoop(info)) await this.k.loop.detach(info.device);
    });
    return info;
  }

  /** True while `info.device` is still this binding: same diskseq, file, offset and size limit. */
  async ourLoop(info: LoopInfo): Promise<boolean> {
    return (await this.k.loop.list()).some(
      (l) =>
        l.device === info.device &&
        l.diskseq === info.diskseq &&
        l.backingIno === info.backingIno &&
        l.backingDev === info.backingDev &&
        l.offset === info.offset &&
        l.sizeLimit === info.sizeLimit,
    );
  }

  names(suffix: string): { name: string; uuid: string } {
    return { name: `flowct-${this.tag}-${suffix}`, uuid: `FLOWCT-${this.tag}-${suffix}` };
  }

  /** dm create with names unique to this case; undo registered before the call. */
  async dm(suffix: string, table: string[]): Promise<DmInfo> {
    const { name, uuid } = this.names(suffix);
    this.defer(`dm ${name}`, async () => {
      const info = await this.k.dm.info(name);
      if (info?.uuid === uuid) await this.k.dm.remove(uuid);
    });
    return this.k.dm.create({ name, uuid, table });
  }

  async zram(disksize?: number): Promise<ZramInfo> {
    const id = await this.k.zram.add();
    // hot_add returned the id: that device, as named by its diskseq, is this case's
    const made = (await this.k.zram.list()).find((z) => z.id === id);
    this.defer(`zram${id}`, async () => {
      if (!made || !(await this.k.zram.list()).some((z) => z.id === id && z.diskseq === made.diskseq)) return;
      await this.k.zram.reset(id);
      await this.k.zram.remove(id);
    });
    if (disksize !== undefined) await this.k.zram.configure(id, { disksize });
    return (await this.k.zram.list()).find((z) => z.id === id)!;
  }

  async mount(source: string, target: string, options: string[] = []): Promise<void> {
    const real = await this.k.fs.realpath(target);
    this.defer(`mount ${target}`, async () => {
      if ((await this.k.mounts.list()).some((m) => m.target === real)) await this.k.mounts.umount(target);
    });
    await this.k.mounts.mount({ source, target, options });
  }

  /** A new ext4 of `size` bytes in a file, on a read-write loop device, mounted at a new directory. */
  async mountedExt4(name: string, size: number): Promise<{ path: string; loop: LoopInfo; dir: string }> {
    const path = await this.file(`${name}.img`, size);
    await this.k.filesystems.mkfsExt4({ target: path, uuid: randomUUID(), blockSize: 4096 });
    const loop = await this.loop({ file: path, readOnly: false });
    const dir = await this.dir(name);
    await this.mount(loop.device, dir);
    return { path, loop, dir };
  }

  /** The mountinfo entry at `dir` (realpath), if any. */
  async mountAt(dir: string): Promise<MountEntry | undefined> {
    const real = await this.k.fs.realpath(dir);
    return (await this.k.mounts.list()).find((m) => m.target === real);
  }
}

/** Registers the contract suite for one kernel implementation. */
export function kernelContract(name: string, makeKernel: () => Promise<ContractEnv>): void {
  describe(`kernel contract: ${name}`, () => {
    let s: Scope;
    beforeEach(async () => {
      s = new Scope(await makeKernel());
    });
    // the cleanup runs several kernel commands (detach waits for the kernel to let go): on a
    // loaded lab host that takes more than vitest's default 10 s hook timeout
    afterEach(async () => {
      const errors = await s.close();
      await s.env.cleanup();
      if (errors.length > 0) throw new Error(`cleanup failed, objects may have leaked:\n${errors.join('\n')}`);
    }, 60_000);
    registerLoopCases(() => s);
    registerDmCases(() => s);
    registerZramCases(() => s);
    registerDiskseqCases(() => s);
    registerMountAndFsCases(() => s);
    registerMoreTargetCases(() => s);
    registerMoreMountAndFsCases(() => s);
  });
}

function registerLoopCases(scope: () => Scope): void {
  it('loop: attach reports the backing identity, list agrees, detach unbinds', async () => {
    const s = scope();
    const path = await s.file('a.img', 8 * MiB);
    const st = await s.k.fs.stat(path);
    const loop = await s.loop({ file: path, readOnly: false });
    expect(loop.device).toMatch(/^\/dev\/loop\d+$/);
    expect(loop.majmin).toMatch(/^\d+:\d+$/);
    expect(loop).toMatchObject({ backingFile: await s.k.fs.realpath(path), backingIno: st.ino, backingDev: st.dev, offset: 0, sizeLimit: 0, readOnly: false, autoclear: false });
    expect((await s.k.loop.list()).find((l) => l.device === loop.device)).toEqual(loop);
    expect(await s.k.system.blockDeviceSize(loop.device)).toBe(8 * MiB);
    await s.k.loop.detach(loop.device);
    expect(await s.ourLoop(loop)).toBe(false);
  });

  it('loop: read-only with offset and size limit', async () => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('ro.img', 8 * MiB), readOnly: true, offset: MiB, sizeLimit: 2 * MiB });
    expect(loop).toMatchObject({ readOnly: true, offset: MiB, sizeLimit: 2 * MiB });
    expect((await s.k.loop.list()).find((l) => l.device === loop.device)).toEqual(loop);
    expect(await s.k.system.blockDeviceSize(loop.device)).toBe(2 * MiB);
  });

  it('loop: detaching an unbound device is ENXIO', async () => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('x.img', MiB), readOnly: false });
    await s.k.loop.detach(loop.device);
    await expectCode(s.k.loop.detach(loop.device), 'ENXIO');
  });

  it('loop: detach while a dm table holds it is EBUSY + autoclear, and completes when dm goes', async () => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('held.img', 4 * MiB), readOnly: false });
    const dm = await s.dm('hold', [`0 2048 linear ${loop.majmin} 0`]);
    await expectCode(s.k.loop.detach(loop.device), 'EBUSY');
    expect((await s.k.loop.list()).find((l) => l.device === loop.device)?.autoclear).toBe(true);
    await s.k.dm.remove(dm.uuid);
    expect(await eventually(async () => !(await s.ourLoop(loop)))).toBe(true);
  });
}

function registerDmCases(scope: () => Scope): void {
  it('dm: create linear; info, list, table normalised to major:minor, size', async () => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('lin.img', 4 * MiB), readOnly: false });
    const info = await s.dm('lin', [`0 4096 linear ${loop.device} 2048`]);
    expect(info).toMatchObject({ ...s.names('lin'), attr: 'L--w', live: true, inactive: false, suspended: false, readOnly: false, open: 0 });
    expect(await s.k.dm.info(info.name)).toEqual(info);
    expect((await s.k.dm.list()).find((d) => d.name === info.name)).toEqual(info);
    expect(await s.k.dm.table(info.name)).toEqual([`0 4096 linear ${loop.majmin} 2048`]);
    expect(await s.k.system.blockDeviceSize(`/dev/dm-${info.minor}`)).toBe(4096 * 512);
    expect((await s.k.dm.targets()).map((t) => t.name)).toContain('linear');
    await s.k.dm.resume(info.name);
    expect(await s.k.dm.info(info.name)).toEqual(info);
  });

  it('dm: linear + zero segments', async () => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('lz.img', 4 * MiB), readOnly: true });
    const table = [`0 8192 linear ${loop.majmin} 0`, '8192 8192 zero'];
    const info = await s.dm('lz', table);
    expect(await s.k.dm.table(info.name)).toEqual(table);
    expect(await s.k.system.blockDeviceSize(`/dev/dm-${info.minor}`)).toBe(16384 * 512);
  });

  it('dm: a duplicate name or UUID is EEXIST and leaves the first device alone', async () => {
    const s = scope();
    const first = await s.dm('dup', ['0 1024 zero']);
    const other = s.names('dup2');
    s.defer('dm dup2', async () => {
      const i = await s.k.dm.info(other.name);
      if (i?.uuid === other.uuid) await s.k.dm.remove(other.uuid);
    });
    await expectCode(s.k.dm.create({ name: first.name, uuid: other.uuid, table: ['0 2048 zero'] }), 'EEXIST');
    await expectCode(s.k.dm.create({ name: other.name, uuid: first.uuid, table: ['0 2048 zero'] }), 'EEXIST');
    expect(await s.k.dm.info(other.name)).toBeNull();
    expect(await s.k.dm.info(first.name)).toEqual(first);
    expect(await s.k.dm.table(first.name)).toEqual(['0 1024 zero']);
  });

  it('dm: a table naming a device that does not exist is ENXIO and leaves no device', async () => {
    const s = scope();
    // a removed zram device is gone for good (a detached loop is not: see the next case)
    const z = await s.zram(MiB);
    await s.k.zram.reset(z.id);
    await s.k.zram.remove(z.id);
    await expectCode(s.dm('missing', [`0 1024 linear ${z.majmin} 0`]), 'ENXIO');
    expect(await s.k.dm.info(s.names('missing').name)).toBeNull();
  });

  it('dm: a detached loop device still exists (unbound, size 0): a table naming it loads', async () => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('gone.img', MiB), readOnly: false });
    await s.k.loop.detach(loop.device);
    const info = await s.dm('unbound', [`0 1024 linear ${loop.majmin} 0`]);
    expect(await s.k.dm.table(info.name)).toEqual([`0 1024 linear ${loop.majmin} 0`]);
    await s.k.dm.remove(info.uuid);
  });

  it('dm: remove by UUID is EBUSY while another table uses the device, ENXIO once gone', async () => {
    const s = scope();
    const lower = await s.dm('lower', ['0 2048 zero']);
    const upper = await s.dm('upper', [`0 2048 linear ${lower.major}:${lower.minor} 0`]);
    expect((await s.k.dm.info(lower.name))?.open).toBe(1);
    await expectCode(s.k.dm.remove(lower.uuid), 'EBUSY');
    await s.k.dm.remove(upper.uuid);
    await s.k.dm.remove(lower.uuid);
    expect(await s.k.dm.info(lower.name)).toBeNull();
    await expectCode(s.k.dm.remove(lower.uuid), 'ENXIO');
    await expectCode(s.k.dm.table(lower.name), 'ENXIO');
    await expectCode(s.k.dm.status(lower.name), 'ENXIO');
  });

  it.each([
    ['3 arguments', (d: string) => `${d} 0 10`],
    ['6 arguments', (d: string) => `${d} 0 10 ${d} 0 20`],
  ])('dm: delay with %s round-trips', async (_n, args) => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('delay.img', 2 * MiB), readOnly: false });
    const line = `0 2048 delay ${args(loop.majmin)}`;
    const info = await s.dm('delay', [line]);
    expect(await s.k.dm.table(info.name)).toEqual([line]);
  });

  it('dm: snapshot with a zram COW; the zram is held', async () => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('origin.img', 8 * MiB), readOnly: true });
    const z = await s.zram(4 * MiB);
    const line = `0 16384 snapshot ${loop.majmin} ${z.majmin} N 8`;
    const snap = await s.dm('snap', [line]);
    expect(await s.k.dm.table(snap.name)).toEqual([line]);
    const [status] = await s.k.dm.status(snap.name);
    expect(status).toMatch(/^0 16384 snapshot \d+\/\d+ \d+$/);
    expect((await s.k.zram.list()).find((x) => x.id === z.id)?.holders).toContain(`dm-${snap.minor}`);
    await expectCode(s.k.zram.reset(z.id), 'EBUSY');
    await expectCode(s.k.zram.remove(z.id), 'EBUSY');
  });
}

function registerZramCases(scope: () => Scope): void {
  it('zram: add, configure, EBUSY on reconfigure, reset, remove, ENXIO after', async () => {
    const s = scope();
    const z = await s.zram();
    expect(z).toMatchObject({ device: `/dev/zram${z.id}`, initialized: false, holders: [] });
    expect(z.majmin).toMatch(/^\d+:\d+$/);
    await s.k.zram.configure(z.id, { disksize: 16 * MiB });
    expect((await s.k.zram.list()).find((x) => x.id === z.id)).toMatchObject({ initialized: true, disksize: 16 * MiB });
    await expectCode(s.k.zram.configure(z.id, { disksize: 8 * MiB }), 'EBUSY');
    // configured, nothing written yet
    expect(await s.k.zram.usage(z.id)).toEqual({ origDataSize: 0, comprDataSize: 0, memUsedTotal: expect.any(Number) });
    await s.k.zram.reset(z.id);
    expect((await s.k.zram.list()).find((x) => x.id === z.id)?.initialized).toBe(false);
    await s.k.zram.remove(z.id);
    expect((await s.k.zram.list()).some((x) => x.id === z.id)).toBe(false);
    await expectCode(s.k.zram.remove(z.id), 'ENXIO');
  });
}

/** The largest diskseq among the loop and zram devices listed now (0 when none). */
async function highWater(k: Kernel): Promise<number> {
  return Math.max(0, ...(await k.loop.list()).map((l) => l.diskseq), ...(await k.zram.list()).map((z) => z.diskseq));
}

/** diskseq (Linux >= 5.15): the identity flow's loop and zram steps rely on (src/steps/kinds/loop-attach.ts, zram-add.ts). */
function registerDiskseqCases(scope: () => Scope): void {
  it('diskseq: a loop binding gets a number above every device listed before; a detach and a new binding of the same file get a new one', async () => {
    const s = scope();
    const path = await s.file('seq.img', 4 * MiB);
    const before = await highWater(s.k);
    const first = await s.loop({ file: path, readOnly: true });
    expect(Number.isSafeInteger(first.diskseq)).toBe(true);
    expect(first.diskseq).toBeGreaterThan(before);
    expect((await s.k.loop.list()).find((l) => l.device === first.device)?.diskseq).toBe(first.diskseq);
    await s.k.loop.detach(first.device);
    const second = await s.loop({ file: path, readOnly: true });
    // the same file, perhaps the same device number: still another binding, told apart by diskseq alone
    expect(second.diskseq).toBeGreaterThan(first.diskseq);
    expect(await s.ourLoop(first)).toBe(false);
    expect(await s.ourLoop(second)).toBe(true);
  });

  it('diskseq: hot_add gives a number above every device listed before; sizing and reset keep it; a device added again gets a new one', async () => {
    const s = scope();
    const before = await highWater(s.k);
    const z = await s.zram();
    expect(Number.isSafeInteger(z.diskseq)).toBe(true);
    expect(z.diskseq).toBeGreaterThan(before);
    await s.k.zram.configure(z.id, { disksize: 8 * MiB });
    expect((await s.k.zram.list()).find((x) => x.id === z.id)?.diskseq).toBe(z.diskseq);
    await s.k.zram.reset(z.id);
    expect((await s.k.zram.list()).find((x) => x.id === z.id)?.diskseq).toBe(z.diskseq);
    await s.k.zram.remove(z.id);
    const again = await s.zram(8 * MiB);
    expect(again.diskseq).toBeGreaterThan(z.diskseq);
  });

  it('diskseq: a loop bound after a zram was added gets a larger number (one counter for all disks)', async () => {
    const s = scope();
    const z = await s.zram();
    const l = await s.loop({ file: await s.file('order.img', MiB), readOnly: true });
    expect(l.diskseq).toBeGreaterThan(z.diskseq);
  });
}

function registerMountAndFsCases(scope: () => Scope): void {
  it('fs: mkfs then probe reports UUID and block size, on the file and through a loop', async () => {
    const s = scope();
    const path = await s.file('fs.img', 16 * MiB);
    expect(await s.k.filesystems.probe(path)).toBeNull();
    const uuid = randomUUID();
    await s.k.filesystems.mkfsExt4({ target: path, uuid, blockSize: 4096 });
    expect(await s.k.filesystems.probe(path)).toMatchObject({ type: 'ext4', uuid, blockSize: 4096, blockCount: 4096 });
    const loop = await s.loop({ file: path, readOnly: true });
    expect(await s.k.filesystems.probe(loop.device)).toMatchObject({ type: 'ext4', uuid, blockSize: 4096 });
    const small = await s.file('fs1k.img', 16 * MiB);
    await s.k.filesystems.mkfsExt4({ target: small, uuid: randomUUID(), blockSize: 1024 });
    expect(await s.k.filesystems.probe(small)).toMatchObject({ blockSize: 1024, blockCount: 16384 });
  });

  it('mount: mount, EBUSY twice, mountinfo majmin, lazy loop detach, umount, EINVAL after', async () => {
    const s = scope();
    const path = await s.file('m.img', 32 * MiB);
    await s.k.filesystems.mkfsExt4({ target: path, uuid: randomUUID(), blockSize: 4096 });
    const loop = await s.loop({ file: path, readOnly: false });
    const dir = await s.dir('mnt');
    const target = await s.k.fs.realpath(dir);
    await s.mount(loop.device, dir);
    const entry = (await s.k.mounts.list()).find((m) => m.target === target);
    expect(entry).toMatchObject({ majmin: loop.majmin, fstype: 'ext4', device: loop.majmin });
    await expectCode(s.k.mounts.mount({ source: loop.device, target: dir, options: [] }), 'EBUSY');
    await expectCode(s.k.loop.detach(loop.device), 'EBUSY');
    await s.k.mounts.umount(dir);
    expect((await s.k.mounts.list()).some((m) => m.target === target)).toBe(false);
    await expectCode(s.k.mounts.umount(dir), 'EINVAL');
    expect(await eventually(async () => !(await s.ourLoop(loop)))).toBe(true);
  });

  it('partitions: a built MBR image reads back; a blank file has no table', async () => {
    const s = scope();
    const uuid = randomUUID();
    const img = await s.image('disk.img', {
      size: 64 * MiB,
      partitions: [
        { type: 'c', startSector: 2048, sizeSectors: 8192 },
        { type: '83', startSector: 10240, sizeSectors: 40960, ext: { blockSize: 4096, uuid } },
        { type: '5', startSector: 51200, sizeSectors: 20480 },
        { type: '83', startSector: 53248, sizeSectors: 8192 },
        { type: '83', startSector: 63488, sizeSectors: 8192 },
      ],
    });
    const table = await s.k.partitions.read(img);
    expect(table).toMatchObject({ label: 'dos', sectorSize: 512 });
    expect(table!.partitions.map(({ number, start, size, type }) => ({ number, start, size, type }))).toEqual([
      { number: 1, start: 2048, size: 8192, type: 'c' },
      { number: 2, start: 10240, size: 40960, type: '83' },
      { number: 3, start: 51200, size: 20480, type: '5' },
      { number: 5, start: 53248, size: 8192, type: '83' },
      { number: 6, start: 63488, size: 8192, type: '83' },
    ]);
    expect(await s.k.filesystems.probe(img, 10240 * 512)).toMatchObject({ type: 'ext4', uuid, blockSize: 4096 });
    expect(await s.k.partitions.read(await s.file('blank.img', MiB))).toBeNull();
  });

  it.each([
    [1024, 'EINVAL'],
    [4096, 'ok'],
  ])('mount: a %i-byte-block fs on a snapshot with a zram COW → %s', async (blockSize, outcome) => {
    const s = scope();
    const path = await s.file('snapfs.img', 16 * MiB);
    await s.k.filesystems.mkfsExt4({ target: path, uuid: randomUUID(), blockSize });
    const loop = await s.loop({ file: path, readOnly: true });
    const z = await s.zram(8 * MiB);
    const snap = await s.dm('snapfs', [`0 32768 snapshot ${loop.majmin} ${z.majmin} N 8`]);
    const dir = await s.dir('snapmnt');
    const source = `/dev/dm-${snap.minor}`;
    if (outcome === 'EINVAL') {
      await expectCode(s.mount(source, dir), 'EINVAL');
      return;
    }
    await s.mount(source, dir);
    const target = await s.k.fs.realpath(dir);
    expect((await s.k.mounts.list()).find((m) => m.target === target)?.majmin).toBe(`${snap.major}:${snap.minor}`);
    expect((await s.k.dm.info(snap.name))?.open).toBe(1);
  });

  it('system: boot id is a stable UUID, MemTotal is positive', async () => {
    const s = scope();
    const id = await s.k.system.bootId();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await s.k.system.bootId()).toBe(id);
    expect(await s.k.system.memTotal()).toBeGreaterThan(0);
  });

  it('system: openBlockDevice reads what the device holds now, not blocks an open reader cached before its file changed; fewer bytes at its end; ENOENT, EINVAL', async () => {
    const s = scope();
    const path = await s.file('cached.img', 1 * MiB);
    const put = async (byte: number) => {
      const h = await s.k.fs.open(path, { mode: 'write' });
      try {
        await h.write(Buffer.alloc(4096, byte), 0);
        await h.sync();
      } finally {
        await h.close();
      }
    };
    await put(0x41);
    const loop = await s.loop({ file: path, readOnly: true });
    // an earlier reader kept open (as a mounted filesystem holds its device): its read is cached
    const first = await s.k.system.openBlockDevice(loop.device);
    try {
      expect(Buffer.from(await first.read(4096, 0)).equals(Buffer.alloc(4096, 0x41))).toBe(true);
      // the device changes by another path: its backing file
      await put(0x42);
      const next = await s.k.system.openBlockDevice(loop.device);
      try {
        expect(Buffer.from(await next.read(4096, 0)).equals(Buffer.alloc(4096, 0x42))).toBe(true);
        expect((await next.read(4096, 1 * MiB - 1024)).length).toBe(1024);
        expect((await next.read(4096, 1 * MiB)).length).toBe(0);
      } finally {
        await next.close();
      }
    } finally {
      await first.close();
    }
    await expectCode(s.k.system.openBlockDevice(join(s.env.workdir, `${s.tag}-missing`)), 'ENOENT');
    await expectCode(s.k.system.openBlockDevice(path), 'EINVAL');
  });

  it('fs: sync of a mounted filesystem and of a plain directory; ENOENT for a path that does not exist', async () => {
    const s = scope();
    const { dir } = await s.mountedExt4('sync', 16 * MiB);
    await s.k.filesystems.sync(dir);
    await s.k.filesystems.sync(s.env.workdir);
    await expectCode(s.k.filesystems.sync(join(s.env.workdir, `${s.tag}-missing`)), 'ENOENT');
  });
}

/** A probe of `path` that is null or, on a real device mid-change, an error: "no filesystem". */
async function noFs(k: Kernel, path: string, offset?: number): Promise<boolean> {
  return (await k.filesystems.probe(path, offset)) === null;
}

/** Issue 9 §5: error, flakey, persistent snapshot, snapshot-origin, as the lab's kernel (6.1) takes them. */
function registerMoreTargetCases(scope: () => Scope): void {
  it('dm: error target; its table round-trips', async () => {
    const s = scope();
    const info = await s.dm('err', ['0 2048 error']);
    expect(await s.k.dm.table(info.name)).toEqual(['0 2048 error']);
    // the kernel takes arguments to error and drops them (zero refuses any)
    const args = await s.dm('err-args', ['0 2048 error 1 x']);
    expect(await s.k.dm.table(args.name)).toEqual(['0 2048 error']);
    await expectCode(s.dm('zero-args', ['0 2048 zero 1']), 'EINVAL');
  });

  it.each([
    ['no feature: the kernel prints the count 0', '0 180 0', '0 180 0 0'],
    ['drop_writes', '0 0 5 1 drop_writes', '0 0 5 1 drop_writes'],
    ['error_writes', '0 3 4 1 error_writes', '0 3 4 1 error_writes'],
  ])('dm: flakey with %s', async (_what, args, shown) => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('flakey.img', 2 * MiB), readOnly: false });
    const info = await s.dm('flakey', [`0 4096 flakey ${loop.majmin} ${args}`]);
    expect(await s.k.dm.table(info.name)).toEqual([`0 4096 flakey ${loop.majmin} ${shown}`]);
  });

  it.each([
    ['both drop_writes and error_writes', '0 5 2 drop_writes error_writes'],
    ['a feature twice', '0 5 2 drop_writes drop_writes'],
    ['error_reads (Linux >= 6.5; the lab runs 6.1)', '0 5 1 error_reads'],
    ['an unknown feature', '0 5 1 corrupt_everything'],
    ['up + down = 0', '0 0 0'],
    ['a missing feature', '0 5 2 drop_writes'],
  ])('dm: flakey with %s is EINVAL and leaves no device', async (_what, args) => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('flakeybad.img', 2 * MiB), readOnly: false });
    await expectCode(s.dm('flakeybad', [`0 4096 flakey ${loop.majmin} ${args}`]), 'EINVAL');
    expect(await s.k.dm.info(s.names('flakeybad').name)).toBeNull();
  });

  it('dm: flakey always up passes writes through (the flaky-disk example: file → loop → flakey → ext4 mount)', async () => {
    const s = scope();
    const path = await s.file('flaky-disk.img', 16 * MiB);
    const uuid = randomUUID();
    await s.k.filesystems.mkfsExt4({ target: path, uuid, blockSize: 4096 });
    const loop = await s.loop({ file: path, readOnly: false });
    const flakey = await s.dm('flaky-disk', [`0 32768 flakey ${loop.majmin} 0 3600 1 1 drop_writes`]);
    const dev = `/dev/dm-${flakey.minor}`;
    expect(await s.k.filesystems.probe(dev)).toMatchObject({ type: 'ext4', uuid });
    const dir = await s.dir('flaky-mnt');
    await s.mount(dev, dir, ['noatime']);
    expect(await s.mountAt(dir)).toMatchObject({ majmin: `${flakey.major}:${flakey.minor}`, fstype: 'ext4' });
    expect((await s.mountAt(dir))!.options).toContain('noatime');
  });

  it('dm: flakey always down with drop_writes takes writes and keeps none; always up keeps them', async () => {
    const s = scope();
    const path = await s.file('drop.img', 4 * MiB);
    const loop = await s.loop({ file: path, readOnly: false });
    const down = await s.dm('drop', [`0 8192 flakey ${loop.majmin} 0 0 1 1 drop_writes`]);
    await s.k.filesystems.mkfsVfat({ target: `/dev/dm-${down.minor}`, volumeId: '0D0D0D0D' });
    expect(await noFs(s.k, `/dev/dm-${down.minor}`)).toBe(true);
    expect(await noFs(s.k, path)).toBe(true);
    await s.k.dm.remove(down.uuid);
    const up = await s.dm('keep', [`0 8192 flakey ${loop.majmin} 0 1 0`]);
    await s.k.filesystems.mkfsVfat({ target: `/dev/dm-${up.minor}`, volumeId: '0E0E0E0E' });
    expect(await s.k.filesystems.probe(path)).toMatchObject({ type: 'vfat', uuid: '0E0E-0E0E' });
  });

  it('dm: persistent snapshot + snapshot-origin: writes through the origin keep the old data in the snapshot', async () => {
    const s = scope();
    const origin = await s.loop({ file: await s.file('porigin.img', 8 * MiB), readOnly: false });
    const cowFile = await s.file('pcow.img', 8 * MiB);
    const cow = await s.loop({ file: cowFile, readOnly: false });
    // the snapshot first: loading it while a snapshot-origin of the same origin is live needs that origin suspended
    const snapLine = `0 16384 snapshot ${origin.majmin} ${cow.majmin} P 8`;
    const snap = await s.dm('psnap', [snapLine]);
    expect(await s.k.dm.table(snap.name)).toEqual([snapLine]);
    // a new persistent store: a header chunk and the first metadata area
    expect(await s.k.dm.status(snap.name)).toEqual(['0 16384 snapshot 16/16384 16']);
    const originLine = `0 16384 snapshot-origin ${origin.majmin}`;
    const org = await s.dm('porg', [originLine]);
    expect(await s.k.dm.table(org.name)).toEqual([originLine]);
    expect((await s.k.dm.targets()).map((t) => t.name)).toEqual(expect.arrayContaining(['snapshot', 'snapshot-origin']));
    await s.k.filesystems.mkfsVfat({ target: `/dev/dm-${org.minor}`, volumeId: '5A5A0001' });
    expect(await s.k.filesystems.probe(`/dev/dm-${org.minor}`)).toMatchObject({ type: 'vfat', uuid: '5A5A-0001' });
    expect(await noFs(s.k, `/dev/dm-${snap.minor}`)).toBe(true);
    const [status] = await s.k.dm.status(snap.name);
    const m = /^0 16384 snapshot (\d+)\/16384 (\d+)$/.exec(status!);
    expect(m, status).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(Number(m![2]));
    // the store's header is on the COW device
    await s.k.dm.remove(org.uuid);
    await s.k.dm.remove(snap.uuid);
    expect((await s.k.fs.open(cowFile, { mode: 'read' }).then(async (h) => (await h.read(4, 0).finally(() => h.close())).toString('latin1')))).toBe('SnAp');
  });

  it('dm: a persistent snapshot on a COW that is no snapshot store is refused (ENXIO) and leaves no device', async () => {
    const s = scope();
    const origin = await s.loop({ file: await s.file('borigin.img', 4 * MiB), readOnly: false });
    const cowFile = await s.file('bcow.img', 4 * MiB);
    await s.k.filesystems.mkfsVfat({ target: cowFile, volumeId: 'BADC0FFE' });
    const cow = await s.loop({ file: cowFile, readOnly: false });
    await expectCode(s.dm('bsnap', [`0 8192 snapshot ${origin.majmin} ${cow.majmin} P 8`]), 'ENXIO');
    expect(await s.k.dm.info(s.names('bsnap').name)).toBeNull();
  });

  it('dm: the try-image example: a "partition" as a read-only loop at its offset with a size limit, a persistent snapshot on a zeroed store file, mounted', async () => {
    const s = scope();
    const img = await s.file('tryimg.img', 24 * MiB);
    const uuid = randomUUID();
    const start = 4 * MiB;
    const bytes = 16 * MiB;
    const writer = await s.loop({ file: img, readOnly: false, offset: start, sizeLimit: bytes });
    await s.k.filesystems.mkfsExt4({ target: writer.device, uuid, blockSize: 4096 });
    await s.k.loop.detach(writer.device);
    const part = await s.loop({ file: img, readOnly: true, offset: start, sizeLimit: bytes });
    expect(part).toMatchObject({ readOnly: true, offset: start, sizeLimit: bytes });
    const storeFile = await s.file('trystore.cow', 8 * MiB);
    const store = await s.loop({ file: storeFile, readOnly: false });
    const line = `0 ${bytes / 512} snapshot ${part.majmin} ${store.majmin} P 8`;
    const snap = await s.dm('try', [line]);
    expect(await s.k.dm.table(snap.name)).toEqual([line]);
    const dev = `/dev/dm-${snap.minor}`;
    expect(await s.k.filesystems.probe(dev)).toMatchObject({ type: 'ext4', uuid });
    const dir = await s.dir('try-mnt');
    await s.mount(dev, dir);
    expect(await s.mountAt(dir)).toMatchObject({ majmin: `${snap.major}:${snap.minor}`, fstype: 'ext4', device: `${snap.major}:${snap.minor}` });
    expect((await s.mountAt(dir))!.options).toContain('rw');
    expect(await s.k.dm.status(snap.name)).toEqual([expect.stringMatching(new RegExp(`^0 ${bytes / 512} snapshot \\d+/16384 16$`))]);
  });

  it.each([
    ['a chunk size that is no power of two', 'P 12'],
    ['a persistent flag other than P, PO or N', 'X 8'],
  ])('dm: a snapshot (persistent or not) with %s is EINVAL and leaves no device', async (_what, tail) => {
    const s = scope();
    const origin = await s.loop({ file: await s.file('corigin.img', 4 * MiB), readOnly: true });
    const cow = await s.loop({ file: await s.file('ccow.img', 4 * MiB), readOnly: false });
    await expectCode(s.dm('csnap', [`0 8192 snapshot ${origin.majmin} ${cow.majmin} ${tail}`]), 'EINVAL');
    expect(await s.k.dm.info(s.names('csnap').name)).toBeNull();
  });

  it('dm: snapshot-origin takes exactly one device', async () => {
    const s = scope();
    const loop = await s.loop({ file: await s.file('org2.img', MiB), readOnly: false });
    await expectCode(s.dm('org2', [`0 2048 snapshot-origin ${loop.majmin} 0`]), 'EINVAL');
    await expectCode(s.dm('org3', ['0 2048 snapshot-origin']), 'EINVAL');
  });
}

/** Issue 9 §5: vfat, mkfs on block devices, mount options, read-only and bind mounts, loop offset and size limit read-write. */
function registerMoreMountAndFsCases(scope: () => Scope): void {
  it('fs: mkfs.vfat on a file: blkid shows TYPE vfat and the volume id as UUID; mounted through a loop', async () => {
    const s = scope();
    const path = await s.file('boot.img', 32 * MiB);
    await s.k.filesystems.mkfsVfat({ target: path, volumeId: '1234abcd' });
    expect(await s.k.filesystems.probe(path)).toMatchObject({ type: 'vfat', uuid: '1234-ABCD' });
    const loop = await s.loop({ file: path, readOnly: false });
    const dir = await s.dir('boot');
    await s.mount(loop.device, dir);
    expect(await s.mountAt(dir)).toMatchObject({ majmin: loop.majmin, fstype: 'vfat', device: loop.majmin });
  });

  it.each(['ext4', 'vfat'])('fs: the RAM scratch disk: zram → mkfs %s → mount', async (type) => {
    const s = scope();
    const z = await s.zram(32 * MiB);
    if (type === 'ext4') await s.k.filesystems.mkfsExt4({ target: z.device, uuid: randomUUID(), blockSize: 4096 });
    else await s.k.filesystems.mkfsVfat({ target: z.device, volumeId: 'CAFE0001' });
    expect(await s.k.filesystems.probe(z.device)).toMatchObject({ type });
    const dir = await s.dir('scratch');
    await s.mount(z.device, dir);
    expect(await s.mountAt(dir)).toMatchObject({ majmin: z.majmin, fstype: type });
    await expectCode(s.k.zram.reset(z.id), 'EBUSY');
  });

  it('fs: mkfs on a mounted device is EBUSY', async () => {
    const s = scope();
    const { loop } = await s.mountedExt4('busy', 16 * MiB);
    await expectCode(s.k.filesystems.mkfsVfat({ target: loop.device, volumeId: '00000001' }), 'EBUSY');
  });

  it('fs: freeze a mounted ext4, EBUSY when frozen again, thaw, EINVAL when not frozen', async () => {
    const s = scope();
    const { dir } = await s.mountedExt4('freeze', 16 * MiB);
    // runs before the umount (undo is in reverse): a filesystem unmounted frozen would stay frozen
    s.defer(`thaw ${dir}`, () => s.k.filesystems.thaw(dir).catch((e: unknown) => (kernelCode(e) === 'EINVAL' ? undefined : Promise.reject(e))));
    await s.k.filesystems.freeze(dir);
    await expectCode(s.k.filesystems.freeze(dir), 'EBUSY');
    await s.k.filesystems.thaw(dir);
    await expectCode(s.k.filesystems.thaw(dir), 'EINVAL');
    // thawed: frozen again, and thawed again
    await s.k.filesystems.freeze(dir);
    await s.k.filesystems.thaw(dir);
  });

  it('loop: read-write with offset and size limit: a filesystem made on the device is in the file at the offset', async () => {
    const s = scope();
    const path = await s.file('part.img', 12 * MiB);
    const loop = await s.loop({ file: path, readOnly: false, offset: 2 * MiB, sizeLimit: 8 * MiB });
    expect(loop).toMatchObject({ readOnly: false, offset: 2 * MiB, sizeLimit: 8 * MiB });
    expect(await s.k.system.blockDeviceSize(loop.device)).toBe(8 * MiB);
    const uuid = randomUUID();
    await s.k.filesystems.mkfsExt4({ target: loop.device, uuid, blockSize: 4096 });
    expect(await s.k.filesystems.probe(path, 2 * MiB)).toMatchObject({ type: 'ext4', uuid, blockCount: 2048 });
    expect(await noFs(s.k, path)).toBe(true);
  });

  it('mount: read-only with options; a bind mount of a directory shows its filesystem and the directory as root; bind,ro is read-only', async () => {
    const s = scope();
    const path = await s.file('bind.img', 16 * MiB);
    await s.k.filesystems.mkfsExt4({ target: path, uuid: randomUUID(), blockSize: 4096 });
    const loop = await s.loop({ file: path, readOnly: false });
    const mnt = await s.dir('bind-src');
    const sub = join(mnt, 'sub');
    s.defer(`dir ${sub}`, async () => {
      // on the real kernel the directory is in the image, gone with the unmount
      if (await s.k.fs.stat(sub).then(() => true, () => false)) await s.k.fs.rmdir(sub);
    });
    await s.mount(loop.device, mnt);
    await s.k.fs.mkdir(sub, 0o755);
    const b = await s.dir('bind-dst');
    await s.mount(sub, b, ['bind', 'ro']);
    const e = await s.mountAt(b);
    expect(e).toMatchObject({ majmin: loop.majmin, root: '/sub', fstype: 'ext4', device: loop.majmin });
    expect(e!.options).toContain('ro');
    expect((await s.mountAt(mnt))!.options).toContain('rw');
    await s.k.mounts.umount(b);
    const ro = await s.dir('ro');
    // the filesystem is mounted read-write: a read-only mount of the device is EBUSY (mount_bdev)
    await expectCode(s.k.mounts.mount({ source: loop.device, target: ro, options: ['ro'] }), 'EBUSY');
    await s.k.mounts.umount(mnt);
    await s.mount(loop.device, ro, ['ro', 'noexec']);
    expect((await s.mountAt(ro))!.options).toEqual(expect.arrayContaining(['ro', 'noexec']));
  });
}
