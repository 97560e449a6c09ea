/**
 * `flow verify pi-image` through the shipped binary: green (every point tried, 0
 * violations, 0 leaks) with --cow-file on an image made by scripts/make-pi-image (its
 * fstab read from this host's file with debugfs into the simulated host), and without
 * --cow-file on an image whose boot FAT has 4096-byte sectors (two zram COWs); and
 * snapshot-image with --cow-file. Nothing on this host changes.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildTestImage } from '../../src/kernel/fake/test-image.js';
import { realFs } from '../../src/fs/real.js';
import { Sandbox, shipped } from './harness.js';

const sb = new Sandbox();
afterAll(() => sb.cleanup());

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

function green(args: string[], workflow: string) {
  const before = readdirSync(sb.dir).sort();
  const r = shipped(sb, ['verify', ...args, '--json']);
  expect(r.code, r.stderr + r.stdout.slice(0, 3000)).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j).toMatchObject({ workflow, ok: true, violations: 0, leaks: 0, findings: [] });
  expect(j.points.tried).toBe(j.points.enumerated);
  expect(j.points.enumerated).toBeGreaterThan(100);
  expect(readdirSync(sb.dir).sort()).toEqual(before);
  return j;
}

describe('flow verify pi-image', () => {
  test('with --cow-file, on a make-pi-image image: the file-backed steps verified, the image untouched', () => {
    const img = join(sb.dir, 'pi.img');
    const made = spawnSync(new URL('../../scripts/make-pi-image', import.meta.url).pathname, [img, '96'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const before = sha(img);
    const j = green(['pi-image', '--image', img, '--cow-file', join(sb.dir, 'pi.cow'), '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M'], 'pi-image');
    // two loop.attach steps for the COW regions and the image's: foreign loops planted at each
    expect(j.foreignFiles.planted).toBeGreaterThan(0);
    expect(sha(img)).toBe(before);
  }, 600_000);

  test('without --cow-file (a boot FAT with 4096-byte sectors): two zram COWs verified', async () => {
    const img = join(sb.dir, 'big-sectors.img');
    await buildTestImage(realFs, img, {
      size: 96 << 20,
      diskId: 0x5452574f,
      partitions: [
        { type: 'c', startSector: 8192, sizeSectors: 65536, vfat: { volumeId: '1234abcd', label: 'bootfs', sectorSize: 4096 } },
        { type: '83', startSector: 73728, sizeSectors: 122880, ext: { blockSize: 4096, uuid: '11111111-2222-4333-8444-555555555555', label: 'rootfs', files: { '/etc/fstab': 'LABEL=bootfs /boot vfat defaults 0 2\n', '/boot/': '' } } },
      ],
    });
    green(['pi-image', '--image', img, '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M'], 'pi-image');
  }, 600_000);

  test('snapshot-image --cow-file', () => {
    green(['snapshot-image', '--image', sb.piImage('snap.img'), '--cow-file', join(sb.dir, 'snap.cow'), '--cow-size', '8M', '--size', '96M'], 'snapshot-image');
  }, 600_000);
});
