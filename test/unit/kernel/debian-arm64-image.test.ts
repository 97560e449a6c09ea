/**
 * scripts/make-pi-image --debian-arm64 on the host (root; the network only when its cache is
 * empty: scripts/test builds it before the tiers): a Raspberry-Pi-OS-like image whose root is
 * debootstrap's first stage of Debian arm64, read back with the real tools pi-image's
 * preflight uses; and its cache: built from the cached tarball into an empty cache (a stale
 * temporary file of a killed build swept, nothing downloaded), then hit without building.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRealFilesystems, createRealPartitions } from '../../../src/kernel/real/index.js';
import { partuuidOf } from '../../../src/preflight/fstab.js';

const SCRIPT = new URL('../../../scripts/make-pi-image', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'flow-arm64-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function make(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(SCRIPT, ['--debian-arm64', ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000 });
  expect(r.status, r.stderr).toBe(0);
  return { stdout: r.stdout, stderr: r.stderr };
}
const field = (out: string, name: string) => new RegExp(`^${name} (.+)$`, 'm').exec(out)![1]!;
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const debugfs = (img: string, request: string) => spawnSync('debugfs', ['-R', request, img], { encoding: 'utf8' });

describe('make-pi-image --debian-arm64', () => {
  it('a DOS label, FAT32 boot at 8192 with cmdline.txt by PARTUUID, an ext4 root holding Debian arm64 with an fstab by PARTUUID', async () => {
    const out = make(['--cached']).stdout;
    const img = field(out, 'image');
    const rootAt = Number(/^p2 (\d+) /m.exec(out)![1]) * 512;
    const before = sha(img);
    const table = (await createRealPartitions().read(img))!;
    expect(table.id).toBe('0x5452574f');
    expect(table.partitions.map((p) => [p.start, p.type])).toEqual([[8192, 'c'], [rootAt / 512, '83']]);
    expect(table.partitions.map((p) => partuuidOf(table, p))).toEqual(['5452574f-01', '5452574f-02']);
    const fs = createRealFilesystems();
    expect(await fs.probe(img, 8192 * 512)).toMatchObject({ type: 'vfat', label: 'bootfs' });
    expect(await fs.probe(img, rootAt)).toMatchObject({ type: 'ext4', label: 'rootfs' });
    expect(await fs.readExtFile(img, rootAt, '/etc/fstab')).toMatch(/^PARTUUID=5452574f-01\s+\/boot\/firmware\s+vfat.*\nPARTUUID=5452574f-02\s+\/\s+ext4/m);
    expect(await fs.readExtFile(img, rootAt, '/etc/debian_version')).toMatch(/^\d+\.\d+/);
    const cmdline = spawnSync('mtype', ['-i', `${img}@@${8192 * 512}`, '::/cmdline.txt'], { encoding: 'utf8' });
    expect(cmdline.stdout).toMatch(/ root=PARTUUID=5452574f-02 /);

    // the root partition alone, for debugfs: uname is an arm64 ELF, /proc a directory (not debootstrap's link)
    const p2 = join(dir, 'p2.ext4');
    expect(spawnSync('dd', [`if=${img}`, `of=${p2}`, 'bs=1M', `skip=${rootAt}`, 'iflag=skip_bytes', 'status=none']).status).toBe(0);
    const uname = join(dir, 'uname');
    expect(debugfs(p2, `dump /usr/bin/uname ${uname}`).status).toBe(0);
    const elf = readFileSync(uname);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16LE(18)).toBe(183); // EM_AARCH64
    expect(debugfs(p2, 'stat /proc').stdout).toMatch(/Type: directory/);
    expect(debugfs(p2, 'stat /debootstrap').stdout).toMatch(/Type: directory/); // the second stage is there to run
    expect(sha(img)).toBe(before);
  }, 300_000);

  it('an empty cache is filled from the cached tarball atomically (a stale temporary swept, nothing downloaded); then a hit builds nothing', () => {
    const hit = make(['--cached']).stdout;
    const tarball = field(hit, 'tarball');
    // the names depend on the inputs, not on where the cache is
    const imgName = basename(field(hit, 'image'));
    const cache = join(dir, 'cache');
    const env = { FLOW_TEST_CACHE: cache };
    mkdirSync(cache);
    copyFileSync(tarball, join(cache, basename(tarball)));
    writeFileSync(join(cache, `${imgName}.tmp.99999`), 'left by a killed build');

    const first = make([join(dir, 'a.img')], env);
    expect(first.stderr).not.toMatch(/downloading/);
    expect(first.stderr).toMatch(/building/);
    expect(readdirSync(cache).sort()).toEqual(['.lock', basename(tarball), imgName, `${imgName}.layout`].sort());
    const cached = join(cache, imgName);
    expect(sha(join(dir, 'a.img'))).toBe(sha(cached));
    expect(statSync(join(dir, 'a.img')).blocks).toBeLessThan(statSync(join(dir, 'a.img')).size / 512); // sparse

    const ino = statSync(cached).ino;
    const second = make(['--cached'], env);
    expect(second.stderr).toBe('');
    expect(field(second.stdout, 'image')).toBe(cached);
    expect(statSync(cached).ino).toBe(ino);
    expect(existsSync(join(dir, 'a.img'))).toBe(true);
  }, 300_000);
});
