/**
 * The example workflow files (examples/*.yaml) end to end from their files through the
 * built CLI (`flow run FILE`, then `flow rollback`), on the real kernel, in the lab only:
 *   npm run build && scripts/lab run -q -- npx vitest run --project lab test/lab/examples-real.test.ts
 * Each asserts what the kernel holds while the run is done, and that the rollback leaves
 * the host as it was (lab-case.ts). Needs `flow run FILE` (issue 9 §2).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { dmTable, majmin, mountOf, sh, sha256 } from './real-host.js';

requireLab();

const t = labCase();
const example = (name: string) => join(process.cwd(), 'examples', name);

/** `losetup -J -l` for one device: offset, size limit and read-only as the kernel has them. */
function loopInfo(dev: string): { offset: number; sizelimit: number; ro: boolean; 'back-file': string } {
  const j = JSON.parse(sh(['losetup', '-J', '-l', '-O', 'NAME,OFFSET,SIZELIMIT,RO,BACK-FILE', dev]).stdout) as { loopdevices: { offset: number | string; sizelimit: number | string; ro: boolean | string; 'back-file': string }[] };
  const l = j.loopdevices[0]!;
  return { offset: Number(l.offset), sizelimit: Number(l.sizelimit), ro: l.ro === true || l.ro === '1', 'back-file': l['back-file'] };
}

/** The device a dm table line's argument names, as /dev/loopN. */
const loopOfMajmin = (mm: string) => `/dev/loop${mm.split(':')[1]}`;

describe('examples/flaky-disk.yaml', () => {
  it('file → mkfs → loop → flakey (drop_writes) → mount; rollback removes it all, the file too', async () => {
    const file = join(t.sb.dir, 'flaky.img');
    const r = t.run(example('flaky-disk.yaml'), ['--file', file, '--size', '64M', '--up', '3600', '--down', '1', '--while-down', 'drop-writes']);
    expect(r.status).toBe('done');
    const { loop, device, mountpoint } = r.outputs as Record<string, string>;
    expect(device).toBe(`/dev/mapper/flow-${r.id}`);
    expect(dmTable(`flow-${r.id}`)).toEqual([`0 131072 flakey ${majmin(loop!)} 0 3600 1 1 drop_writes`]);
    expect(loopInfo(loop!)).toMatchObject({ offset: 0, sizelimit: 0, ro: false });
    expect(mountOf(mountpoint!)).toMatchObject({ majmin: majmin(device!), fstype: 'ext4' });
    writeFileSync(join(mountpoint!, 'probe.txt'), 'up\n');
    expect(readFileSync(join(mountpoint!, 'probe.txt'), 'utf8')).toBe('up\n');
    t.rollback(r.id);
    expect(existsSync(file)).toBe(false);
  });
});

describe('examples/ram-scratch.yaml', () => {
  it.each(['ext4', 'vfat'])('zram → mkfs %s on the zram device → mount; rollback removes the zram device', async (fs) => {
    const r = t.run(example('ram-scratch.yaml'), ['--size', '64M', '--filesystem', fs, '--no-atime']);
    expect(r.status).toBe('done');
    const { device, mountpoint } = r.outputs as Record<string, string>;
    expect(device).toMatch(/^\/dev\/zram\d+$/);
    expect(sh(['blkid', '-p', '-o', 'value', '-s', 'TYPE', device!]).stdout.trim()).toBe(fs);
    const m = mountOf(mountpoint!);
    expect(m).toMatchObject({ majmin: majmin(device!), fstype: fs });
    expect(m!.options).toContain('noatime');
    writeFileSync(join(mountpoint!, 'scratch.txt'), 'in RAM\n');
    t.rollback(r.id);
    expect(existsSync(`/sys/block/${device!.slice('/dev/'.length)}`)).toBe(false);
  });
});

describe('examples/try-image.yaml', () => {
  it('partition 2 as a read-only loop (offset + size limit), persistent snapshot on a store file, mounted and written; the image never changes; rollback deletes the store', async () => {
    const img = t.sb.piImage('pi.img', 128);
    const sum = await sha256(img.path);
    const store = join(t.sb.dir, 'try.cow');
    const r = t.run(example('try-image.yaml'), ['--image', img.path, '--store', store, '--store-size', '32M']);
    expect(r.status).toBe('done');
    const { device, mountpoint } = r.outputs as Record<string, string>;
    const [line] = dmTable(`flow-${r.id}`);
    const m = new RegExp(`^0 ${img.p2.sectors} snapshot (\\d+:\\d+) (\\d+:\\d+) P 8$`).exec(line!);
    expect(m, line).not.toBeNull();
    expect(loopInfo(loopOfMajmin(m![1]!))).toMatchObject({ offset: img.p2.start * 512, sizelimit: img.p2.sectors * 512, ro: true, 'back-file': img.path });
    expect(loopInfo(loopOfMajmin(m![2]!))).toMatchObject({ ro: false, 'back-file': store });
    expect(mountOf(mountpoint!)).toMatchObject({ majmin: majmin(device!), fstype: 'ext4' });
    expect(readFileSync(join(mountpoint!, 'etc/hostname'), 'utf8')).toBe('raspberrypi\n');
    writeFileSync(join(mountpoint!, 'etc/hostname'), 'tried\n');
    sh(['sync']);
    // the store holds its header and the changed chunks
    expect(readFileSync(store).subarray(0, 4).toString('latin1')).toBe('SnAp');
    expect(sh(['dmsetup', 'status', `flow-${r.id}`]).stdout).toMatch(new RegExp(`^0 ${img.p2.sectors} snapshot (\\d+)/65536 16`));
    expect(await sha256(img.path)).toBe(sum);
    t.rollback(r.id);
    expect(existsSync(store)).toBe(false);
    expect(await sha256(img.path)).toBe(sum);
  });
});
