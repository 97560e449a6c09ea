/**
 * The real kernel facilities on this host (root, loop devices, zram, util-linux).
 * Missing /dev/loop-control or /sys/class/zram-control makes these tests FAIL; set
 * FLOW_NO_HOST_KERNEL=1 to leave them out (they are then reported as skipped: vitest
 * fails a file that registers no test at all). Everything created here is removed in
 * afterEach/afterAll, and only what this file created is ever touched.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { runCommand } from '../../../src/kernel/exec.js';
import { parseCompAlgorithm } from '../../../src/kernel/parse/zram.js';
import { realFs } from '../../../src/fs/real.js';
import { createRealLoop, createRealMounts, createRealSystem, createRealZram } from '../../../src/kernel/real/index.js';

const loop = createRealLoop({ detachTimeoutMs: 3000 });
const zram = createRealZram();
const mounts = createRealMounts();
let dir = '';
const attached: string[] = [];
const added: number[] = [];
const mounted: string[] = [];

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof KernelError ? e.code : `not a KernelError: ${String(e)}`),
  );
}

/** "major:minor" of a Node dev_t (glibc encoding). */
function majmin(dev: number): string {
  const d = BigInt(dev);
  const major = ((d >> 8n) & 0xfffn) | ((d >> 32n) & ~0xfffn);
  const minor = (d & 0xffn) | ((d >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

async function makeFile(name: string, bytes: number): Promise<string> {
  const path = join(dir, name);
  await (await open(path, 'w')).close();
  await truncate(path, bytes);
  return path;
}

async function attach(args: Parameters<typeof loop.attach>[0]) {
  const info = await loop.attach(args);
  attached.push(info.device);
  return info;
}

describe('real kernel on this host', () => {
  beforeAll(async () => {
    const missing = ['/dev/loop-control', '/sys/class/zram-control'].filter((p) => !existsSync(p));
    if (missing.length > 0) {
      throw new Error(`${missing.join(' and ')} missing: this host cannot run the real-kernel tests. Run them where loop and zram exist, or set FLOW_NO_HOST_KERNEL=1 to leave them out.`);
    }
    if (process.getuid?.() !== 0) throw new Error('the real-kernel tests need root (or set FLOW_NO_HOST_KERNEL=1)');
    dir = await mkdtemp(join(tmpdir(), 'flow-real-host-'));
  });

  afterEach(async () => {
    for (const target of mounted.splice(0).reverse()) await runCommand(['umount', '--', target]).catch(() => undefined);
    const ours = (await loop.list()).filter((l) => attached.includes(l.device) && l.backingFile.startsWith(dir));
    attached.length = 0;
    for (const l of ours) await runCommand(['losetup', '-d', l.device]).catch(() => undefined);
    for (const id of added.splice(0)) {
      if (!existsSync(`/sys/block/zram${id}`)) continue;
      await zram.reset(id).catch(() => undefined);
      await zram.remove(id).catch(() => undefined);
    }
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  describe('loop', () => {
    it('attaches read-only with offset+sizelimit and read-write, listed by backing dev+inode', async () => {
      const file = await makeFile('img.raw', 8 << 20);
      const st = await stat(file);
      const ro = await attach({ file, readOnly: true, offset: 1 << 20, sizeLimit: 4 << 20 });
      const rw = await attach({ file, readOnly: false });
      expect(ro).toMatchObject({ backingFile: file, backingIno: st.ino, backingDev: majmin(st.dev), offset: 1 << 20, sizeLimit: 4 << 20, readOnly: true, autoclear: false });
      expect(rw).toMatchObject({ backingIno: st.ino, offset: 0, sizeLimit: 0, readOnly: false });
      const mine = (await loop.list()).filter((l) => l.backingIno === st.ino && l.backingDev === majmin(st.dev));
      expect(mine.map((l) => l.device).sort()).toEqual([ro.device, rw.device].sort());
      expect(await createRealSystem(realFs).blockDeviceSize(ro.device)).toBe(4 << 20);
    });

    it('openBlockDevice reads what the device holds: a plain open is served the block an open reader cached before the backing file changed', async () => {
      const file = await makeFile('cached.raw', 1 << 20);
      const put = async (byte: number) => {
        const h = await open(file, 'r+');
        await h.write(Buffer.alloc(4096, byte), 0, 4096, 0);
        await h.sync();
        await h.close();
      };
      await put(0x41);
      const dev = (await attach({ file, readOnly: true })).device;
      const system = createRealSystem(realFs);
      // held open, as a mounted filesystem holds its device: the block it read stays in the device's page cache
      const held = await realFs.open(dev, { mode: 'read' });
      try {
        expect((await held.read(4096, 0)).equals(Buffer.alloc(4096, 0x41))).toBe(true);
        await put(0x42);
        // what export read before blockdev --flushbufs: the stale block
        const plain = await realFs.open(dev, { mode: 'read' });
        expect((await plain.read(4096, 0).finally(() => plain.close())).equals(Buffer.alloc(4096, 0x41))).toBe(true);
        const fresh = await system.openBlockDevice(dev);
        expect(Buffer.from(await fresh.read(4096, 0).finally(() => fresh.close())).equals(Buffer.alloc(4096, 0x42))).toBe(true);
      } finally {
        await held.close();
      }
      expect(await codeOf(system.openBlockDevice(file))).toBe('EINVAL');
    });

    it('detach waits until the kernel lets go; the device is no longer listed', async () => {
      const file = await makeFile('d.raw', 1 << 20);
      const info = await attach({ file, readOnly: false });
      await loop.detach(info.device);
      expect((await loop.list()).some((l) => l.backingFile === file)).toBe(false);
    });

    it('detach of a device held open: EBUSY, then the kernel detaches it at last close', async () => {
      const file = await makeFile('held.raw', 1 << 20);
      const info = await attach({ file, readOnly: true });
      const fh = await open(info.device, 'r');
      try {
        const quick = createRealLoop({ detachTimeoutMs: 300 });
        expect(await codeOf(quick.detach(info.device))).toBe('EBUSY');
        expect((await loop.list()).find((l) => l.device === info.device)).toMatchObject({ backingFile: file, autoclear: true });
      } finally {
        await fh.close();
      }
      await expect.poll(async () => (await loop.list()).some((l) => l.backingFile === file), { timeout: 3000 }).toBe(false);
    });

    it('ENXIO for a device that is not bound, ENOENT for a missing file, EINVAL for a relative path', async () => {
      expect(await codeOf(loop.detach('/dev/loop99999'))).toBe('ENXIO');
      expect(await codeOf(loop.detach('/dev/sda'))).toBe('EINVAL');
      expect(await codeOf(loop.attach({ file: join(dir, 'missing.raw'), readOnly: true }))).toBe('ENOENT');
      expect(await codeOf(loop.attach({ file: 'rel.raw', readOnly: true }))).toBe('EINVAL');
    });

    it('refuses the silent read-only fallback (EPERM) and leaves nothing bound', async () => {
      const src = join(dir, 'rosrc');
      const ro = join(dir, 'ro');
      await mkdir(src);
      await mkdir(ro);
      await makeFile('rosrc/f.raw', 1 << 20);
      await mounts.mount({ source: src, target: ro, options: ['bind'] });
      mounted.push(ro);
      await mounts.mount({ source: src, target: ro, options: ['remount', 'bind', 'ro'] });
      expect((await mounts.list()).find((m) => m.target === ro)?.options).toContain('ro');
      expect(await codeOf(loop.attach({ file: join(ro, 'f.raw'), readOnly: false }))).toBe('EPERM');
      expect((await loop.list()).some((l) => l.backingFile === join(ro, 'f.raw'))).toBe(false);
      const held = await attach({ file: join(ro, 'f.raw'), readOnly: true });
      expect(held.readOnly).toBe(true);
      await loop.detach(held.device);
      await mounts.umount(ro);
      mounted.pop();
      expect(await codeOf(mounts.umount(ro))).toBe('EINVAL');
    });
  });

  describe('diskseq', () => {
    const sysSeq = async (name: string) => Number((await runCommand(['cat', `/sys/block/${name}/diskseq`])).stdout.trim());

    it('each loop binding is listed with its own diskseq from sysfs; a detach and a re-bind give a larger one', async () => {
      const file = await makeFile('seq.raw', 1 << 20);
      const a = await attach({ file, readOnly: true });
      expect(a.diskseq).toBe(await sysSeq(a.device.slice('/dev/'.length)));
      expect((await loop.list()).find((l) => l.device === a.device)?.diskseq).toBe(a.diskseq);
      await loop.detach(a.device);
      const b = await attach({ file, readOnly: true });
      expect(b.diskseq).toBe(await sysSeq(b.device.slice('/dev/'.length)));
      expect(b.diskseq).toBeGreaterThan(a.diskseq);
    });

    it('a zram device is listed with its diskseq, kept by sizing and reset; the next hot_add gets a larger one', async () => {
      const id = await zram.add();
      added.push(id);
      const z = (await zram.list()).find((x) => x.id === id)!;
      expect(z.diskseq).toBe(await sysSeq(`zram${id}`));
      await zram.configure(id, { disksize: 1 << 20 });
      expect((await zram.list()).find((x) => x.id === id)?.diskseq).toBe(z.diskseq);
      await zram.reset(id);
      expect((await zram.list()).find((x) => x.id === id)?.diskseq).toBe(z.diskseq);
      const next = await zram.add();
      added.push(next);
      expect((await zram.list()).find((x) => x.id === next)!.diskseq).toBeGreaterThan(z.diskseq);
    });
  });

  describe('zram', () => {
    it('hot_add, configure 64 MiB, list, usage, reset, remove', async () => {
      const before = (await zram.list()).map((z) => z.id);
      const id = await zram.add();
      added.push(id);
      expect(before).not.toContain(id);
      const fresh = (await zram.list()).find((z) => z.id === id);
      expect(fresh).toMatchObject({ device: `/dev/zram${id}`, initialized: false, disksize: 0, holders: [] });
      expect(fresh?.majmin).toMatch(/^\d+:\d+$/);

      const { available, selected } = parseCompAlgorithm(await runCommand(['cat', `/sys/block/zram${id}/comp_algorithm`]).then((r) => r.stdout));
      const algorithm = available.includes('lz4') ? 'lz4' : selected;
      await zram.configure(id, { disksize: 64 << 20, algorithm });
      expect((await zram.list()).find((z) => z.id === id)).toMatchObject({ initialized: true, disksize: 64 << 20, algorithm });
      expect(await createRealSystem(realFs).blockDeviceSize(`/dev/zram${id}`)).toBe(64 << 20);
      expect(await codeOf(zram.configure(id, { disksize: 32 << 20 }))).toBe('EBUSY');
      expect(await zram.usage(id)).toEqual({ origDataSize: 0, comprDataSize: 0, memUsedTotal: expect.any(Number) });

      await zram.reset(id);
      expect((await zram.list()).find((z) => z.id === id)).toMatchObject({ initialized: false, disksize: 0 });
      await zram.remove(id);
      expect((await zram.list()).some((z) => z.id === id)).toBe(false);
      expect(await codeOf(zram.remove(id))).toBe('ENXIO');
      expect(await codeOf(zram.configure(id, { disksize: 1 << 20 }))).toBe('ENXIO');
    });

    it('an unknown algorithm is refused by the kernel (EINVAL) and leaves the device uninitialised', async () => {
      const id = await zram.add();
      added.push(id);
      expect(await codeOf(zram.configure(id, { disksize: 1 << 20, algorithm: 'nosuchalgo' }))).toBe('EINVAL');
      expect((await zram.list()).find((z) => z.id === id)?.initialized).toBe(false);
    });
  });
});
