/**
 * A real Debian arm64 image on the real kernel (lab only): the Raspberry-Pi-OS-like image of
 * `scripts/make-pi-image --debian-arm64` (FAT32 boot at 8192, ext4 root holding debootstrap's
 * first stage of Debian arm64 minbase, fstab and cmdline.txt by PARTUUID), built on the host
 * beforehand (scripts/test does; the guest has no network) and used in place from its cache:
 *   scripts/make-pi-image --debian-arm64 --cached && npm run build &&
 *   scripts/lab run -q --mem 3072 -- npx vitest run --project lab test/lab/arm64-real.test.ts
 * In the VM (its own kernel) qemu-aarch64 is registered with binfmt_misc exactly as Debian's
 * qemu-user-static has systemd-binfmt do it (/usr/lib/binfmt.d/qemu-aarch64.conf, flags OPF),
 * and unregistered afterwards. Then: `flow run pi-image` mounts both partitions as the fstab
 * says; `flow exec` runs arm64 programs (`uname -m` prints aarch64) and what they write is in
 * the run's mounts; without the entry, or with it lacking F, `flow exec` refuses with the
 * apt-get fix and changes nothing; rollback leaves nothing; the image's sha256 never changes.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { hostObjects, mountOf, ROOT, sh, sha256 } from './real-host.js';

requireLab();

const t = labCase();
const BINFMT = '/proc/sys/fs/binfmt_misc';
const ENTRY = `${BINFMT}/qemu-aarch64`;
const FIX = 'apt-get install qemu-user-static binfmt-support';
const t0 = Date.now();
const progress = (what: string) => console.log(`arm64: ${((Date.now() - t0) / 1000).toFixed(1)} s  ${what}`);

/** Debian's registration line for qemu-aarch64 (what systemd-binfmt writes at boot), with `flags` in place of its own. */
function registerLine(flags?: string): string {
  const line = readFileSync('/usr/lib/binfmt.d/qemu-aarch64.conf', 'utf8').split('\n').find((l) => l.startsWith(':qemu-aarch64:'));
  if (!line) throw new Error('/usr/lib/binfmt.d/qemu-aarch64.conf has no :qemu-aarch64: line (apt-get install qemu-user-static)');
  if (flags === undefined) return line;
  return line.replace(/:[A-Z]*$/, `:${flags}`);
}
const register = (flags?: string) => writeFileSync(`${BINFMT}/register`, registerLine(flags));
const unregister = () => existsSync(ENTRY) && writeFileSync(ENTRY, '-1');

let mountedBinfmt = false;
beforeAll(() => {
  sh(['modprobe', 'binfmt_misc']);
  if (!existsSync(`${BINFMT}/status`)) {
    sh(['mount', '-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
    mountedBinfmt = true;
  }
  // the refusal cases remove the entry: one of the host's own would make them meaningless
  if (existsSync(ENTRY)) throw new Error(`${ENTRY} exists already: run this test in the kernel lab, whose kernel has none`);
  register();
  expect(readFileSync(ENTRY, 'utf8')).toMatch(/^flags: [A-Z]*F[A-Z]*$/m);
  progress("qemu-aarch64 registered with binfmt_misc (Debian's line, flags with F)");
}, 60_000);

afterAll(() => {
  unregister();
  if (mountedBinfmt) sh(['umount', BINFMT]);
});

/** The cached image's path (built on the host: here there is no network). */
function cachedImage(): string {
  const r = sh([join(ROOT, 'scripts/make-pi-image'), '--debian-arm64', '--cached'], { ok: [0, 1, 2] });
  if (r.code !== 0) throw new Error(`no cached Debian arm64 image; build it on the host first (scripts/make-pi-image --debian-arm64 --cached; scripts/test does):\n${r.stderr}`);
  return /^image (.+)$/m.exec(r.stdout)![1]!;
}

describe('a real Debian arm64 image (pi-image, flow exec through qemu-user-static)', () => {
  it('runs arm64 programs inside it; refuses without an F-flag entry; rollback leaves nothing and the image unchanged', async () => {
    const img = cachedImage();
    const sum = await sha256(img);
    progress(`image ${img}, sha256 ${sum.slice(0, 16)}`);

    const r = t.run('pi-image', ['--image', img, '--cow-file', join(t.sb.dir, 'arm64.cow'), '--cow-size', '128M', '--boot-cow-size', '16M', '--size', '1G']);
    const o = r.outputs;
    const mnt = o.mountpoint!;
    progress(`flow run pi-image: ${r.id} ${r.status}`);
    expect(r.status).toBe('done');
    // both partitions mounted as the image's fstab says (PARTUUID, /boot/firmware)
    expect(readFileSync(join(mnt, 'etc/fstab'), 'utf8')).toMatch(/^PARTUUID=5452574f-01 +\/boot\/firmware +vfat /m);
    expect(mountOf(mnt)).toMatchObject({ fstype: 'ext4' });
    expect(o['boot-mountpoint']).toBe(join(mnt, 'boot/firmware'));
    expect(mountOf(o['boot-mountpoint']!)).toMatchObject({ fstype: 'vfat' });
    expect(readFileSync(join(o['boot-mountpoint']!, 'cmdline.txt'), 'utf8')).toMatch(/ root=PARTUUID=5452574f-02 /);
    expect(readFileSync(join(mnt, 'etc/debian_version'), 'utf8')).toMatch(/^\d+\.\d+/);
    expect(await sha256(img)).toBe(sum);

    const uname = t.sb.flow(['exec', r.id, '--', 'uname', '-m']);
    progress(`flow exec ${r.id} -- uname -m: exit ${uname.code}, ${JSON.stringify(uname.stdout)}`);
    expect(uname.code, uname.stderr).toBe(0);
    expect(uname.stdout).toBe('aarch64\n');

    // written by arm64 programs (dash, dpkg, touch) through the binds, into both partitions
    const w = t.sb.flow(['exec', r.id, '--', '/bin/sh', '-c', 'dpkg --print-architecture > /home/pi/arch.txt && uname -m >> /home/pi/arch.txt && touch /boot/firmware/ssh']);
    progress(`flow exec ${r.id} -- /bin/sh -c ...: exit ${w.code}`);
    expect(w.code, w.stderr).toBe(0);
    expect(readFileSync(join(mnt, 'home/pi/arch.txt'), 'utf8')).toBe('arm64\naarch64\n');
    expect(existsSync(join(o['boot-mountpoint']!, 'ssh'))).toBe(true);
    const binds = () => (JSON.parse(t.sb.flow(['list', '--json']).stdout) as { workflow: string; status: string }[]).filter((x) => x.workflow === 'exec-binds');
    expect(binds().map((x) => x.status)).toEqual(['rolled-back', 'rolled-back']);

    // no interpreter: refused before anything changes, with the fix
    const objects = hostObjects();
    unregister();
    const none = t.sb.flow(['exec', r.id, '--', 'uname', '-m']);
    progress(`entry removed: flow exec exit ${none.code}`);
    expect(none.code, none.stdout).toBe(2);
    expect(none.stderr).toContain(FIX);
    expect(none.stderr).toMatch(/aarch64.*no binfmt_misc entry is registered for it/s);
    // an entry without F: the kernel would look for the interpreter inside the image
    register('OP');
    const noF = t.sb.flow(['exec', r.id, '--', 'uname', '-m']);
    progress(`entry without F: flow exec exit ${noF.code}`);
    expect(noF.code, noF.stdout).toBe(2);
    expect(noF.stderr).toMatch(/qemu-aarch64 .*lacks the F flag/);
    expect(noF.stderr).toContain(FIX);
    unregister();
    expect(binds()).toHaveLength(2);
    expect(hostObjects()).toEqual(objects);
    register();

    t.rollback(r.id);
    progress(`flow rollback ${r.id}: nothing left`);
    expect(existsSync(join(t.sb.dir, 'arm64.cow'))).toBe(false);
    expect(await sha256(img)).toBe(sum);
    progress('image sha256 unchanged');
  }, 600_000);
});
