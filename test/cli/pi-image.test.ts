/**
 * pi-image on the fake kernel, through the CLI: the boot partition found from the image's
 * own /etc/fstab (by PARTUUID, by LABEL; at /boot/firmware or /boot), the overrides, the
 * refusals (before anything changes), --cow-file (created, refused when it exists, reused
 * with --reuse-cow) and 1 KiB-block roots (refused with zram COWs, accepted with a file).
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildTestImage, type TestImageSpec } from '../../src/kernel/fake/test-image.js';
import { realFs } from '../../src/fs/real.js';
import { runId, Sandbox, sandboxPerTest } from './harness.js';

const sandbox = sandboxPerTest();

const DISK_ID = 0x5452574f;
interface ImageOpts {
  fstab?: string | null;
  rootBlock?: number;
  bootSector?: number;
}
const PARTUUID_FSTAB = 'proc /proc proc defaults 0 0\nPARTUUID=5452574f-01  /boot/firmware  vfat  defaults  0  2\nPARTUUID=5452574f-02  /  ext4  defaults,noatime  0  1\n';

/** A Raspberry-Pi-OS-like image: FAT32 p1 at 8192 labelled bootfs, ext4 p2 labelled rootfs holding /etc/fstab. */
async function piImage(sb: Sandbox, name: string, o: ImageOpts = {}): Promise<string> {
  const p = join(sb.dir, name);
  const fstab = o.fstab === undefined ? PARTUUID_FSTAB : o.fstab;
  const spec: TestImageSpec = {
    size: 96 << 20,
    diskId: DISK_ID,
    partitions: [
      { type: 'c', startSector: 8192, sizeSectors: 65536, vfat: { volumeId: '1234abcd', label: 'bootfs', sectorSize: o.bootSector ?? 512 } },
      { type: '83', startSector: 73728, sizeSectors: 122880, ext: { blockSize: o.rootBlock ?? 4096, uuid: '11111111-2222-4333-8444-555555555555', label: 'rootfs', files: { ...(fstab === null ? {} : { '/etc/fstab': fstab }), '/boot/': '', '/boot/firmware/': '', '/firmware/': '' } } },
    ],
  };
  await buildTestImage(realFs, p, spec);
  return p;
}

function targets(sb: Sandbox): string[] {
  return sb.kernel().mounts.map((m) => m.target);
}

/** Nothing changed: no run recorded, no device, no file. */
function nothingChanged(sb: Sandbox, r: { code: number | null; stderr: string }) {
  expect(r.code, r.stderr).toBe(2);
  expect(sb.runs()).toEqual([]);
  const k = sb.kernel();
  expect([k.loops, k.dm, k.zram, k.mounts]).toEqual([[], [], [], []]);
}

describe('pi-image: the boot partition where the image says', () => {
  test('fstab by PARTUUID at /boot/firmware, with --cow-file: both mounted, rollback leaves nothing', async () => {
    const sb = sandbox();
    const img = await piImage(sb, 'pi.img');
    const cow = join(sb.dir, 'pi.cow');
    const r = sb.flow(['run', 'pi-image', '--image', img, '--cow-file', cow, '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M']);
    expect(r.code, r.stderr).toBe(0);
    const id = runId(r);
    const mnt = join(sb.runDir, id, 'mnt');
    expect(targets(sb)).toEqual([mnt, `${mnt}/boot/firmware`]);
    expect(statSync(cow).size).toBe(20 << 20);
    expect(r.stdout).toMatch(new RegExp(`boot-mountpoint +${mnt}/boot/firmware\n`));
    const show = JSON.parse(sb.flow(['show', id, '--json']).stdout);
    expect(show.params).toMatchObject({
      'boot-partition': { number: 1, 'mounted-at': '/boot/firmware', 'found-by': '/etc/fstab: PARTUUID=5452574f-01' },
      'root-partition': { number: 2 },
      'cow-file': { path: cow },
    });
    // both snapshots persistent, each on its own region of the file
    const tables = sb.kernel().dm.map((d) => d.name);
    expect(tables.sort()).toEqual([`flow-${id}`, `flow-${id}-base`, `flow-${id}-boot`, `flow-${id}-boot-base`].sort());
    // flow show draws both stacks from the steps' kinds: the image's (both partitions down to their mounts) and the COW file's
    type Node = { role: string; step?: string; state: string; children: Node[] };
    const flat = (n: Node): string[] => [n.step ?? n.role, ...n.children.flatMap(flat)];
    expect((show.trees as Node[]).map(flat)).toEqual([
      ['image', 'attach-image', 'create-root-base', 'create-root-snapshot', 'mount-root', 'create-boot-base', 'create-boot-snapshot', 'mount-boot'],
      ['create-cow-file', 'attach-root-cow', 'attach-boot-cow'],
    ]);
    expect(sb.flow(['show', id]).stdout).toContain(`└─ mountpoint ${mnt}/boot/firmware  present  (mount-boot)`);
    const rb = sb.flow(['rollback', id]);
    expect(rb.code, rb.stderr).toBe(0);
    expect(existsSync(cow)).toBe(false);
    const k = sb.kernel();
    expect([k.loops, k.dm, k.zram, k.mounts]).toEqual([[], [], [], []]);
  });

  test('fstab by LABEL at /boot (an older Raspberry Pi OS)', async () => {
    const sb = sandbox();
    const img = await piImage(sb, 'old.img', { fstab: 'LABEL=bootfs /boot vfat defaults 0 2\nLABEL=rootfs / ext4 defaults 0 1\n' });
    const r = sb.flow(['run', 'pi-image', '--image', img, '--cow-file', join(sb.dir, 'c.cow'), '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M']);
    expect(r.code, r.stderr).toBe(0);
    const id = runId(r);
    expect(targets(sb)).toEqual([join(sb.runDir, id, 'mnt'), join(sb.runDir, id, 'mnt', 'boot')]);
    expect(JSON.parse(sb.flow(['show', id, '--json']).stdout).params).toMatchObject({ 'boot-partition': { 'mounted-at': '/boot', 'found-by': '/etc/fstab: LABEL=bootfs' } });
    expect(sb.flow(['rollback', id]).code).toBe(0);
  });

  test('--boot-at and --boot-partition override the fstab; without an fstab both are needed', async () => {
    const sb = sandbox();
    const img = await piImage(sb, 'nofstab.img', { fstab: null });
    const cow = join(sb.dir, 'c.cow');
    const base = ['run', 'pi-image', '--image', img, '--cow-file', cow, '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M'];
    const refused = sb.flow(base);
    expect(refused.stderr).toMatch(/has no \/etc\/fstab/);
    expect(refused.stderr).toMatch(/--boot-partition N --boot-at/);
    nothingChanged(sb, refused);
    expect(existsSync(cow)).toBe(false);
    const r = sb.flow([...base, '--boot-partition', '1', '--boot-at', '/firmware', '--root-partition', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(targets(sb)[1]).toBe(join(sb.runDir, runId(r), 'mnt', 'firmware'));
    expect(sb.flow(['rollback', runId(r)]).code).toBe(0);
  });

  test.each([
    ['an fstab naming a partition the image lacks', { fstab: 'PARTUUID=deadbeef-01 /boot/firmware vfat defaults 0 2\n' }, [], /no partition of .* is that one/],
    ['an fstab mounting nothing at /boot', { fstab: 'PARTUUID=5452574f-02 / ext4 defaults 0 1\n' }, [], /mounts nothing at \/boot\/firmware or \/boot/],
    ['--boot-at outside the image', {}, ['--boot-at', '../etc'], /is not a directory inside the image/],
    ['--boot-at a directory the image lacks', {}, ['--boot-at', '/boot/efi', '--boot-partition', '1'], /has no directory \/boot\/efi/],
    ['the boot partition is the root', {}, ['--boot-partition', '2'], /both partition 2/],
    ['a root partition that is no ext filesystem', {}, ['--root-partition', '1'], /partition 1 of .* holds a vfat filesystem, not the ext4 root/],
    ['a --boot-at the fstab mounts nothing at', {}, ['--boot-at', '/boot'], /\/etc\/fstab on partition 2 of .* mounts nothing at \/boot$/m],
    ['--reuse-cow without --cow-file', {}, ['--reuse-cow'], /--reuse-cow needs --cow-file/],
    ['--reuse-cow with a --cow-file that does not exist', {}, ['--reuse-cow', '--cow-file', '/nonexistent.cow'], /--cow-file \/nonexistent.cow does not exist/],
  ] as const)('refused before anything changes: %s', async (_what, o, extra, message) => {
    const sb = sandbox();
    const img = await piImage(sb, 'x.img', o as ImageOpts);
    const cow = (extra as readonly string[]).includes('--reuse-cow') ? [] : ['--cow-file', join(sb.dir, 'c.cow')];
    const r = sb.flow(['run', 'pi-image', '--image', img, ...cow, ...extra]);
    expect(r.stderr).toMatch(message);
    nothingChanged(sb, r);
  });
});

describe('pi-image: refused from its file alone', () => {
  test('an image without a partition table: refused before its /etc/fstab is looked for', () => {
    const sb = sandbox();
    const img = sb.file('plain.img', 8 << 20);
    const r = sb.flow(['run', 'pi-image', '--image', img, '--cow-file', join(sb.dir, 'c.cow')]);
    expect(r.stderr).toMatch(/plain.img has no partition table/);
    expect(r.stderr).toMatch(/pi-image takes a whole disk image/);
    nothingChanged(sb, r);
  });

  test('zram COWs larger than the memory, together', async () => {
    const sb = sandbox();
    const img = await piImage(sb, 'x.img', { bootSector: 4096 });
    const r = sb.flow(['run', 'pi-image', '--image', img, '--cow-size', '64T', '--boot-cow-size', '64T']);
    expect(r.stderr).toMatch(/--cow-size 64T and --boot-cow-size 64T are more than this machine's memory/);
    nothingChanged(sb, r);
  });

  test('a copy of pi-image under another name refuses the same, and runs the same', async () => {
    const sb = sandbox();
    const def = sb.flow(['workflows', '--definition', 'pi-image']);
    expect(def.code, def.stderr).toBe(0);
    const copy = join(sb.dir, 'my-pi.yaml');
    writeFileSync(copy, def.stdout.replace(/^name: pi-image$/m, 'name: my-pi'));
    const img = await piImage(sb, 'nofstab.img', { fstab: null });
    const refused = sb.flow(['run', copy, '--image', img, '--cow-file', join(sb.dir, 'c.cow')]);
    expect(refused.stderr).toMatch(/partition 2 of .*nofstab.img \(--root-partition\) has no \/etc\/fstab/);
    nothingChanged(sb, refused);
    const ok = await piImage(sb, 'ok.img');
    const r = sb.flow(['run', copy, '--image', ok, '--cow-file', join(sb.dir, 'c.cow'), '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M']);
    expect(r.code, r.stderr).toBe(0);
    expect(targets(sb)).toEqual([join(sb.runDir, runId(r), 'mnt'), join(sb.runDir, runId(r), 'mnt', 'boot', 'firmware')]);
    expect(sb.flow(['rollback', runId(r)]).code).toBe(0);
  });
});

describe('pi-image: COWs in RAM or in a file', () => {
  test('without --cow-file: two zram COWs when the filesystems have 4 KiB blocks and sectors', async () => {
    const sb = sandbox();
    const img = await piImage(sb, 'big.img', { bootSector: 4096 });
    const r = sb.flow(['run', 'pi-image', '--image', img, '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M']);
    expect(r.code, r.stderr).toBe(0);
    expect(sb.kernel().zram).toHaveLength(2);
    expect(sb.flow(['rollback', runId(r)]).code).toBe(0);
    expect(sb.kernel().zram).toEqual([]);
  });

  test.each([
    ['a root with 1 KiB blocks', { rootBlock: 1024, bootSector: 4096 }, /ext4 filesystem on partition 2 .* has 1024-byte blocks/],
    ['a FAT boot partition with 512-byte sectors', {}, /vfat filesystem on partition 1 .* has 512-byte sectors/],
  ] as const)('without --cow-file, %s is refused, naming --cow-file', async (_what, o, message) => {
    const sb = sandbox();
    const img = await piImage(sb, 'small.img', o);
    const r = sb.flow(['run', 'pi-image', '--image', img]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/--cow-file PATH/);
    nothingChanged(sb, r);
  });

  test('a root with 1 KiB blocks works with --cow-file (512-byte sectors)', async () => {
    const sb = sandbox();
    const img = await piImage(sb, 'small.img', { rootBlock: 1024 });
    const r = sb.flow(['run', 'pi-image', '--image', img, '--cow-file', join(sb.dir, 's.cow'), '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M']);
    expect(r.code, r.stderr).toBe(0);
    expect(targets(sb)).toHaveLength(2);
    expect(sb.flow(['rollback', runId(r)]).code).toBe(0);
  });

  test('an existing --cow-file is refused; --reuse-cow uses it (and its rollback keeps it)', async () => {
    const sb = sandbox();
    const img = await piImage(sb, 'pi.img');
    const cow = join(sb.dir, 'keep.cow');
    const args = ['run', 'pi-image', '--image', img, '--cow-file', cow, '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M'];
    const first = sb.flow(['run', 'pi-image', '--image', img, '--cow-file', cow, '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M', '--keep-on-failure']);
    expect(first.code, first.stderr).toBe(0);
    // the run's own file is busy while the run holds it
    const busy = sb.flow([...args, '--reuse-cow']);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toMatch(/is attached at/);
    // keep the changes: tear the devices down the way a reboot does is the lab's job; here the file stays after a second run reuses it
    const sb2 = sandbox();
    const img2 = await piImage(sb2, 'pi.img');
    const cow2 = join(sb2.dir, 'keep.cow');
    sb2.file('keep.cow', 20 << 20);
    const args2 = ['run', 'pi-image', '--image', img2, '--cow-file', cow2, '--cow-size', '16M', '--boot-cow-size', '4M', '--size', '128M'];
    const exists = sb2.flow(args2);
    expect(exists.stderr).toMatch(/--cow-file .* exists/);
    expect(exists.stderr).toMatch(/--reuse-cow/);
    nothingChanged(sb2, exists);
    const wrong = sb2.flow([...args2.slice(0, -4), '--cow-size', '8M', '--boot-cow-size', '4M', '--reuse-cow']);
    expect(wrong.stderr).toMatch(/has 20971520 bytes, not the 12582912/);
    const reused = sb2.flow([...args2, '--reuse-cow']);
    expect(reused.code, reused.stderr).toBe(0);
    expect(reused.stdout).not.toContain('create the COW file');
    expect(sb2.flow(['rollback', runId(reused)]).code).toBe(0);
    expect(existsSync(cow2)).toBe(true);
    expect(sb.flow(['rollback', runId(first)]).code).toBe(0);
  });
});
