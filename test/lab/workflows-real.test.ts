/**
 * The three workflows end to end through the built CLI (dist/, `npm run build` first) on
 * the real kernel, in the kernel lab only:
 *   scripts/lab run -q -- npx vitest run --project lab
 * Every test rolls back its run (also when it fails) and checks the host holds exactly
 * what it held before: no loop, dm device, zram device, mount or run directory is left.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { dmTable, majmin, mountOf, sh, sha256 } from './real-host.js';

requireLab();

const t = labCase();

describe('snapshot-image on a Pi-like image (MBR, FAT32 boot, ext4 root with 4 KiB blocks)', () => {
  it('linear+zero base, zram-COW snapshot, mounted, writable, grown; the image never changes; rollback leaves nothing', async () => {
    const img = t.sb.piImage('pi.img', 128);
    const sum = await sha256(img.path);
    const size = 512 * 1024 * 1024;
    const total = size / 512;
    const r = t.run('snapshot-image', ['--image', img.path, '--size', '512M', '--cow-size', '64M']);
    expect(r.status).toBe('done');
    const { id } = r;
    const { loop, base, cow, device, mountpoint } = r.outputs as Record<string, string>;
    expect(mountpoint).toBe(join(t.sb.runDir, id, 'mnt'));
    expect(device).toBe(`/dev/mapper/flow-${id}`);

    // the loop is read-only on the image; tables reference devices as major:minor
    expect(sh(['losetup', '-J', '-l', '-O', 'NAME,RO,BACK-FILE', loop!]).stdout).toMatch(/"ro":\s*true/);
    expect(dmTable(`flow-${id}-base`)).toEqual([`0 ${img.p2.sectors} linear ${majmin(loop!)} ${img.p2.start}`, `${img.p2.sectors} ${total - img.p2.sectors} zero`]);
    expect(dmTable(`flow-${id}`)).toEqual([`0 ${total} snapshot ${majmin(base!)} ${majmin(cow!)} N 16`]);

    // mounted: the image's files are there; a write lands in the COW
    const m = mountOf(mountpoint!);
    expect(m).toMatchObject({ majmin: majmin(device!), fstype: 'ext4' });
    expect(readFileSync(join(mountpoint!, 'etc/hostname'), 'utf8')).toBe('raspberrypi\n');
    const blob = join(mountpoint!, 'usr/share/doc/flow/random.bin');
    expect(await sha256(blob)).toBe(readFileSync(`${blob}.sha256`, 'utf8').trim());
    const note = join(mountpoint!, 'home/pi/written-by-test.txt');
    const fd = openSync(note, 'w');
    writeSync(fd, 'hello snapshot\n');
    fsyncSync(fd);
    closeSync(fd);
    expect(readFileSync(note, 'utf8')).toBe('hello snapshot\n');
    expect(sh(['dmsetup', 'status', `flow-${id}`]).stdout).toMatch(new RegExp(`^0 ${total} snapshot \\d+/\\d+ \\d+`));

    // grown online to the snapshot size
    const blocks = Number(/Block count:\s+(\d+)/.exec(sh(['dumpe2fs', '-h', device!]).stdout)![1]);
    expect(blocks).toBe(size / 4096);
    const dfBlocks = Number(sh(['df', '--output=size', '-B4096', mountpoint!]).stdout.trim().split('\n')[1]);
    expect(dfBlocks).toBeGreaterThan((img.p2.sectors * 512) / 4096);

    expect(await sha256(img.path)).toBe(sum);
    t.rollback(id);
    expect(await sha256(img.path)).toBe(sum);
    expect(sh(['losetup', '-j', img.path]).stdout).toBe('');
  });
});

describe('snapshot-image on a bare filesystem image (no partition table)', () => {
  it('uses the whole image: linear from sector 0 + zero, mounted; rollback leaves nothing', async () => {
    const file = join(t.sb.dir, 'rootfs.ext4');
    sh(['truncate', '-s', '64M', file]);
    sh(['mkfs.ext4', '-F', '-q', '-b', '4096', '-L', 'bare', file]);
    const sum = await sha256(file);
    const r = t.run('snapshot-image', ['--image', file, '--size', '128M', '--cow-size', '32M']);
    const { loop, device, mountpoint } = r.outputs as Record<string, string>;
    expect(dmTable(`flow-${r.id}-base`)).toEqual([`0 131072 linear ${majmin(loop!)} 0`, '131072 131072 zero']);
    expect(mountOf(mountpoint!)).toMatchObject({ majmin: majmin(device!), fstype: 'ext4' });
    expect(readdirSync(mountpoint!)).toContain('lost+found');
    t.rollback(r.id);
    expect(await sha256(file)).toBe(sum);
  });
});

describe('delayed-device', () => {
  it('creates and formats the file, a 100 ms delay table, mounted -o sync; a synced write takes >= 100 ms; rollback removes the file', () => {
    const file = join(t.sb.dir, 'slow.img');
    const r = t.run('delayed-device', ['--file', file, '--size', '64M', '--delay', '100']);
    const { id } = r;
    const { loop, device, mountpoint } = r.outputs as Record<string, string>;
    expect(sh(['blkid', '-p', '-o', 'value', '-s', 'TYPE', file]).stdout.trim()).toBe('ext4');
    expect(dmTable(`flow-${id}`)).toEqual([`0 ${(64 * 1024 * 1024) / 512} delay ${majmin(loop!)} 0 100`]);
    const m = mountOf(mountpoint!);
    expect(m).toMatchObject({ majmin: majmin(device!), fstype: 'ext4' });
    expect(m!.options).toContain('sync');

    const target = join(mountpoint!, 'probe.bin');
    const t0 = performance.now();
    const fd = openSync(target, 'w');
    writeSync(fd, Buffer.alloc(4096, 7));
    fsyncSync(fd);
    closeSync(fd);
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(100);
    rmSync(target);

    t.rollback(id);
    expect(existsSync(file)).toBe(false);
  });
});

describe('delayed-device on an existing file', () => {
  it('uses the file as it is (not formatted again) and keeps it on rollback', () => {
    const file = join(t.sb.dir, 'mine.img');
    sh(['truncate', '-s', '32M', file]);
    sh(['mkfs.ext4', '-F', '-q', '-b', '4096', '-U', '0b4c8d36-6a51-4a4e-9c53-1d2f0a7a7c11', file]);
    const r = t.run('delayed-device', ['--file', file, '--delay', '5']);
    expect(r.steps.map((s) => s.name)).not.toContain('make-filesystem');
    expect(dmTable(`flow-${r.id}`)).toEqual([`0 65536 delay ${majmin(r.outputs.loop!)} 0 5`]);
    t.rollback(r.id);
    expect(sh(['blkid', '-p', '-o', 'value', '-s', 'UUID', file]).stdout.trim()).toBe('0b4c8d36-6a51-4a4e-9c53-1d2f0a7a7c11');
  });
});

describe('loop-mount --read-only', () => {
  it('attaches read-only, mounts ro with the files visible, refuses writes; rollback leaves nothing and the image unchanged', async () => {
    const src = join(t.sb.dir, 'src');
    mkdirSync(join(src, 'data'), { recursive: true });
    writeFileSync(join(src, 'data/hello.txt'), 'hello loop\n');
    const file = join(t.sb.dir, 'rootfs.ext4');
    sh(['truncate', '-s', '32M', file]);
    sh(['mkfs.ext4', '-F', '-q', '-b', '4096', '-d', src, file]);
    const sum = await sha256(file);
    const r = t.run('loop-mount', ['--file', file, '--read-only']);
    const { loop, mountpoint } = r.outputs as Record<string, string>;
    expect(sh(['losetup', '-J', '-l', '-O', 'NAME,RO', loop!]).stdout).toMatch(/"ro":\s*true/);
    const m = mountOf(mountpoint!);
    expect(m).toMatchObject({ majmin: majmin(loop!), fstype: 'ext4' });
    expect(m!.options).toContain('ro');
    expect(readdirSync(mountpoint!)).toContain('data');
    expect(readFileSync(join(mountpoint!, 'data/hello.txt'), 'utf8')).toBe('hello loop\n');
    expect(() => writeFileSync(join(mountpoint!, 'nope.txt'), 'x')).toThrow(/EROFS/);
    t.rollback(r.id);
    expect(await sha256(file)).toBe(sum);
  });
});
