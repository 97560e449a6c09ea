/**
 * pi-image on the real kernel, in the lab only, on an image made by scripts/make-pi-image
 * (FAT32 boot partition at 8192, ext4 root, /etc/fstab by PARTUUID):
 *   npm run build && scripts/lab run -q -- npx vitest run --project lab test/lab/pi-image-real.test.ts
 * Both partitions mounted where the image's fstab says; with --cow-file a file written
 * into the image survives a reboot (simulated: every volatile device torn down as a
 * reboot would, and the boot id changed), `flow resume` brings it back, and `flow
 * rollback` leaves nothing, the COW file removed and the image bit-for-bit unchanged.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { dmTable, hostObjects, majmin, mountOf, sh, sha256 } from './real-host.js';

requireLab();

const t = labCase();
const BOOT_ID = '/proc/sys/kernel/random/boot_id';

/** What a reboot takes: the run's mounts, dm devices and loop devices (in that order), then a new boot id; returns the undo of the boot id. */
function reboot(outputs: Record<string, string>, names: string[]): () => void {
  sh(['umount', outputs['boot-mountpoint']!]);
  sh(['umount', outputs.mountpoint!]);
  for (const n of names) sh(['dmsetup', 'remove', n]);
  for (const l of [outputs['root-cow']!, outputs['boot-cow']!, outputs.loop!]) sh(['losetup', '-d', l]);
  // the boot id flow compares with the one its journal recorded: a file bound over it
  const dir = mkdtempSync(join(tmpdir(), 'flow-boot-id-'));
  writeFileSync(join(dir, 'boot_id'), 'b0a7b0a7-0000-4000-8000-000000000001\n');
  sh(['mount', '--bind', join(dir, 'boot_id'), BOOT_ID]);
  let bound = true;
  const unbind = () => {
    if (bound) sh(['umount', BOOT_ID]);
    bound = false;
    rmSync(dir, { recursive: true, force: true });
  };
  t.undo(unbind);
  return unbind;
}

describe('pi-image (real kernel)', () => {
  it('mounts both partitions as /etc/fstab says; --cow-file keeps a change across a reboot; rollback leaves nothing and the image unchanged', async () => {
    const img = t.sb.piImage('pi.img', 128);
    const before = await sha256(img.path);
    const cow = join(t.sb.dir, 'pi.cow');
    const r = t.run('pi-image', ['--image', img.path, '--cow-file', cow, '--cow-size', '64M', '--boot-cow-size', '16M', '--size', '256M']);
    expect(r.status).toBe('done');
    const o = r.outputs as Record<string, string>;
    const names = [`flow-${r.id}-boot`, `flow-${r.id}`, `flow-${r.id}-boot-base`, `flow-${r.id}-base`];
    // the root snapshot and the boot snapshot, each persistent on its own region of the COW file
    expect(dmTable(`flow-${r.id}`)[0]).toMatch(new RegExp(`^0 524288 snapshot ${majmin(`/dev/mapper/flow-${r.id}-base`)} ${majmin(o['root-cow']!)} P 16$`));
    expect(dmTable(`flow-${r.id}-boot`)[0]).toMatch(new RegExp(`^0 131072 snapshot ${majmin(`/dev/mapper/flow-${r.id}-boot-base`)} ${majmin(o['boot-cow']!)} P 16$`));
    expect(statSync(cow).size).toBe(80 << 20);
    expect(mountOf(o.mountpoint!)).toMatchObject({ majmin: majmin(o.root!), fstype: 'ext4' });
    expect(o['boot-mountpoint']).toBe(`${o.mountpoint}/boot/firmware`);
    expect(mountOf(o['boot-mountpoint']!)).toMatchObject({ majmin: majmin(o.boot!), fstype: 'vfat' });
    expect(readFileSync(join(o.mountpoint!, 'etc/hostname'), 'utf8')).toBe('raspberrypi\n');
    expect(readFileSync(join(o['boot-mountpoint']!, 'cmdline.txt'), 'utf8')).toMatch(/ root=PARTUUID=5452574f-02 /);
    // grown online to --size
    expect(Number(sh(['blockdev', '--getsize64', o.root!]).stdout.trim())).toBe(256 << 20);

    writeFileSync(join(o.mountpoint!, 'home/pi/kept.txt'), 'kept across a reboot\n');
    writeFileSync(join(o['boot-mountpoint']!, 'ssh'), '');
    sh(['sync']);
    const unbind = reboot(o, names);
    expect(existsSync(`/dev/mapper/flow-${r.id}`)).toBe(false);

    const resumed = t.sb.flow(['resume', r.id, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const o2 = JSON.parse(resumed.stdout.trim().split('\n').pop()!).outputs as Record<string, string>;
    expect(readFileSync(join(o2.mountpoint!, 'home/pi/kept.txt'), 'utf8')).toBe('kept across a reboot\n');
    expect(existsSync(join(o2['boot-mountpoint']!, 'ssh'))).toBe(true);
    expect(mountOf(o2['boot-mountpoint']!)).toMatchObject({ fstype: 'vfat' });

    // rolled back in the "new boot" (the boot id flow recorded at the resume), then the real boot id back
    const rb = t.sb.flow(['rollback', r.id]);
    expect(rb.code, rb.stderr).toBe(0);
    unbind();
    expect(hostObjects()).toEqual(t.before);
    expect(existsSync(cow)).toBe(false);
    expect(await sha256(img.path)).toBe(before);
  }, 600_000);

  it('a root with 1 KiB blocks: refused without --cow-file (naming it), mounted with it', async () => {
    const img = t.sb.piImage('small.img', 128, 1024);
    const refused = t.sb.flow(['run', 'pi-image', '--image', img.path]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/1024-byte blocks/);
    expect(refused.stderr).toMatch(/--cow-file PATH/);
    const r = t.run('pi-image', ['--image', img.path, '--cow-file', join(t.sb.dir, 'small.cow'), '--cow-size', '32M', '--boot-cow-size', '8M', '--size', '192M']);
    const o = r.outputs as Record<string, string>;
    writeFileSync(join(o.mountpoint!, 'etc/motd'), 'written through a 512-byte-sector COW\n');
    expect(mountOf(o.mountpoint!)).toMatchObject({ fstype: 'ext4' });
    expect(mountOf(o['boot-mountpoint']!)).toMatchObject({ fstype: 'vfat' });
    t.rollback(r.id);
  }, 600_000);
});
