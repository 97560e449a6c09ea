/**
 * What pi-image's preflight reads of an image with the real tools, on an image made by
 * scripts/make-pi-image (no root, no loop device): the disk identifier (sfdisk), the
 * filesystems' labels (blkid), and the root's /etc/fstab and directories (debugfs,
 * read-only). And the image is left bit-for-bit unchanged.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { createRealFilesystems, createRealPartitions } from '../../../src/kernel/real/index.js';
import { partuuidOf } from '../../../src/preflight/fstab.js';

const dir = mkdtempSync(join(tmpdir(), 'flow-pi-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function makeImage(name: string, env: Record<string, string> = {}): { path: string; root: number } {
  const path = join(dir, name);
  const r = spawnSync(new URL('../../../scripts/make-pi-image', import.meta.url).pathname, [path, '96'], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return { path, root: Number(/^p2 (\d+)/m.exec(r.stdout)![1]) * 512 };
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('pi-image: reading a make-pi-image image with the real tools', () => {
  it('PARTUUIDs from the disk identifier, labels, the fstab by PARTUUID at /boot/firmware, the directory there', async () => {
    const img = makeImage('pi.img');
    const before = sha(img.path);
    const table = (await createRealPartitions().read(img.path))!;
    expect(table.id).toBe('0x5452574f');
    expect(table.partitions.map((p) => partuuidOf(table, p))).toEqual(['5452574f-01', '5452574f-02']);
    const fs = createRealFilesystems();
    expect((await fs.probe(img.path, 8192 * 512))?.label).toBe('bootfs');
    expect((await fs.probe(img.path, img.root))?.label).toBe('rootfs');
    const fstab = await fs.readExtFile(img.path, img.root, '/etc/fstab');
    expect(fstab).toMatch(/^PARTUUID=5452574f-01\s+\/boot\/firmware\s+vfat/m);
    expect(fstab).toMatch(/^PARTUUID=5452574f-02\s+\/\s+ext4/m);
    expect(await fs.readExtFile(img.path, img.root, '/boot/firmware')).not.toBeNull();
    expect(await fs.readExtFile(img.path, img.root, '/etc/no-such-file')).toBeNull();
    // no ext filesystem there (the FAT), and names debugfs would split
    await expect(fs.readExtFile(img.path, 8192 * 512, '/etc/fstab')).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(fs.readExtFile(img.path, img.root, '/etc/fs tab')).rejects.toBeInstanceOf(KernelError);
    // the boot partition's cmdline.txt names the root by PARTUUID too
    const cmdline = spawnSync('mtype', ['-i', `${img.path}@@${8192 * 512}`, '::cmdline.txt'], { encoding: 'utf8' });
    expect(cmdline.stdout).toMatch(/ root=PARTUUID=5452574f-02 /);
    expect(sha(img.path)).toBe(before);
  });

  it('FSTAB=label BOOT_AT=/boot: the fstab names the partitions by label, the boot partition at /boot', async () => {
    const img = makeImage('old.img', { FSTAB: 'label', BOOT_AT: '/boot' });
    const fstab = await createRealFilesystems().readExtFile(img.path, img.root, '/etc/fstab');
    expect(fstab).toMatch(/^LABEL=bootfs\s+\/boot\s+vfat/m);
    expect(await createRealFilesystems().readExtFile(img.path, img.root, '/boot/firmware')).toBeNull();
  });
});
