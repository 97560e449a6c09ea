/**
 * The real blkid / mkfs.ext4 / mkfs.vfat / resize2fs / sfdisk / blockdev wrappers on temp files of
 * this host. Like real-host.test.ts, FLOW_NO_HOST_KERNEL=1 leaves them out (skipped).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { realFs } from '../../../src/fs/real.js';
import { createRealFilesystems, createRealPartitions, createRealSystem } from '../../../src/kernel/real/index.js';
import { setCommandObserver } from '../../../src/kernel/exec.js';
import { fsGrow } from '../../../src/steps/kinds/fs-grow.js';
import { fsMkfs } from '../../../src/steps/kinds/fs-mkfs.js';
import { partitionsCheck } from '../../../src/steps/kinds/partitions-check.js';
import { line } from '../../../src/steps/types.js';

let dir = '';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof KernelError ? e.code : `not a KernelError: ${String(e)}`),
  );
}

async function makeFile(name: string, bytes: number): Promise<string> {
  const path = join(dir, name);
  await (await open(path, 'w')).close();
  await truncate(path, bytes);
  return path;
}

describe.skipIf(process.env.FLOW_NO_HOST_KERNEL === '1')('real tools on temp files', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flow-real-tools-'));
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

describe('filesystems, partitions, system', () => {
  it('mkfs.ext4 on a file, probe (block size from blkid and superblock), grow', async () => {
    const fsys = createRealFilesystems();
    const file = await makeFile('fs.raw', 16 << 20);
    expect(await fsys.probe(file)).toBeNull();
    await fsys.mkfsExt4({ target: file, uuid: '2d7b8f4e-1c3a-4e5f-9a6b-7c8d9e0f1a2b', blockSize: 4096 });
    expect(await fsys.probe(file)).toEqual({ type: 'ext4', uuid: '2d7b8f4e-1c3a-4e5f-9a6b-7c8d9e0f1a2b', blockSize: 4096, blockCount: 4096 });
    await fsys.grow(file); // nothing to do: exit 0
    await truncate(file, 32 << 20);
    await fsys.grow(file);
    expect((await fsys.probe(file))?.blockCount).toBe(8192);
    expect(await codeOf(fsys.mkfsExt4({ target: file, uuid: 'x', blockSize: 4096 }))).toBe('EINVAL');
  });

  it('mkfs.vfat on a file: blkid shows TYPE vfat and the volume id as UUID XXXX-XXXX; a bad volume id is EINVAL before mkfs runs', async () => {
    const fsys = createRealFilesystems();
    const file = await makeFile('fat.raw', 32 << 20);
    await fsys.mkfsVfat({ target: file, volumeId: '5a1e7c2d' });
    expect(await fsys.probe(file)).toMatchObject({ type: 'vfat', uuid: '5A1E-7C2D' });
    expect(await codeOf(fsys.mkfsVfat({ target: file, volumeId: '5a1e7c2d -n x' }))).toBe('EINVAL');
    expect(await codeOf(fsys.mkfsVfat({ target: '-C', volumeId: '5a1e7c2d' }))).toBe('EINVAL');
  });

  it('sfdisk: a DOS table, and null for a file without one', async () => {
    const file = await makeFile('pt.raw', 8 << 20);
    const parts = createRealPartitions();
    expect(await parts.read(file)).toBeNull();
    expect(spawnSync('sfdisk', ['-q', '--', file], { input: 'label: dos\nstart=2048, size=4096, type=83\n' }).status).toBe(0);
    expect(await parts.read(file)).toEqual({ label: 'dos', id: expect.stringMatching(/^0x[0-9a-f]{8}$/), sectorSize: 512, partitions: [{ number: 1, node: `${file}1`, start: 2048, size: 4096, type: '83' }] });
    expect(await codeOf(parts.read(join(dir, 'missing.raw')))).toBe('ENOENT');
  });

  it('flow plan shows each of these steps as the command the real facility runs (fs.mkfs, fs.grow, partitions.check)', async () => {
    const ran: string[] = [];
    setCommandObserver((r) => ran.push(line(...r.argv)));
    try {
      const fsys = createRealFilesystems();
      const file = await makeFile('planned.raw', 16 << 20);
      const uuid = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
      await fsys.mkfsExt4({ target: file, uuid, blockSize: 4096 });
      await fsys.grow(file);
      await createRealPartitions().read(file);
      expect(ran.filter((c) => !c.startsWith('blkid '))).toEqual([
        ...fsMkfs.commands({ target: file, uuid, blockSize: 4096 }).apply,
        ...fsGrow.commands({ device: file, target: '/mnt' }).apply,
        ...partitionsCheck.commands({ file, partition: null, start: 0, sectors: 0 }).apply,
      ]);
    } finally {
      setCommandObserver(undefined);
    }
  });

  it('boot id and MemTotal', async () => {
    const sys = createRealSystem(realFs);
    expect(await sys.bootId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await sys.memTotal()).toBeGreaterThan(64 << 20);
  });
});
});
