/**
 * `flow exec` on the real kernel (lab only): a snapshot-image run of an ext4 image whose
 * root holds a static busybox (this host's architecture) as /bin/sh; the command runs in a
 * real chroot with the host's /dev, /dev/pts, /proc, /sys and /etc/resolv.conf bound, its
 * exit code is flow's, what it writes is in the run's mount, and afterwards the host holds
 * exactly the mounts it held before (labCase compares /proc/self/mountinfo). SIGKILL of
 * flow while the command runs, then `flow recover`: nothing of the binds is left.
 */
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { hostObjects, sh } from './real-host.js';

requireLab();

const t = labCase();

/** A 64 MiB ext4 image (4 KiB blocks, no partition table) of a minimal root: busybox as /bin/sh. */
function busyboxImage(): string {
  const dir = join(t.sb.dir, 'rootdir');
  for (const d of ['bin', 'dev', 'proc', 'sys', 'etc', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin', 'busybox'));
  for (const l of ['sh', 'cat', 'grep', 'test']) symlinkSync('busybox', join(dir, 'bin', l));
  writeFileSync(join(dir, 'etc', 'resolv.conf'), "nameserver 192.0.2.99 # the image's own\n");
  const img = join(t.sb.dir, 'root.ext4');
  sh(['mkfs.ext4', '-F', '-q', '-b', '4096', '-d', dir, img, '64M']);
  return img;
}

const bindsUnder = (root: string) => hostObjects().mounts.filter((m) => m.split(' ')[2]!.startsWith(`${root}/`));

describe('flow exec on the real kernel', () => {
  it("runs the command in a chroot with the binds, returns its exit code, and leaves only the run's own mount", () => {
    const run = t.run('snapshot-image', ['--image', busyboxImage(), '--size', '128M', '--cow-size', '16M']);
    const root = run.outputs.mountpoint!;
    const before = hostObjects();
    const script = [
      'echo written-inside > /written',
      'test -e /proc/self/status || exit 90', // /proc bound
      'test -c /dev/null || exit 91', // /dev bound
      'grep -q " /dev/pts " /proc/self/mounts || exit 92', // /dev/pts bound
      'test -d /sys/block || exit 93', // /sys bound
      'cat /etc/resolv.conf > /resolv-inside',
      'exit 7',
    ].join('\n');
    const r = t.sb.flow(['exec', run.id, '--', '/bin/sh', '-c', script]);
    expect(r.code, r.stderr).toBe(7);
    expect(readFileSync(join(root, 'written'), 'utf8')).toBe('written-inside\n');
    // the host's resolver configuration, bound read-only over the image's
    expect(readFileSync(join(root, 'resolv-inside'), 'utf8')).toBe(readFileSync('/etc/resolv.conf', 'utf8'));
    expect(readFileSync(join(root, 'etc/resolv.conf'), 'utf8')).toBe("nameserver 192.0.2.99 # the image's own\n");
    expect(hostObjects()).toEqual(before);
    expect(bindsUnder(root)).toEqual([]);
    // a failing command: its code, and the binds rolled back too
    expect(t.sb.flow(['exec', run.id, '--', '/bin/sh', '-c', 'exit 1']).code).toBe(1);
    expect(hostObjects()).toEqual(before);
    const list = JSON.parse(t.sb.flow(['list', '--json']).stdout) as { workflow: string; status: string }[];
    expect(list.filter((x) => x.workflow === 'exec-binds').map((x) => x.status)).toEqual(['rolled-back', 'rolled-back']);
  });

  it('SIGKILL of flow while the command runs, then flow recover: nothing of the binds is left', () => {
    const run = t.run('snapshot-image', ['--image', busyboxImage(), '--size', '128M', '--cow-size', '16M']);
    const root = run.outputs.mountpoint!;
    const before = hostObjects();
    // the command kills flow, its parent (chroot execs the command), and ends
    const r = t.sb.flow(['exec', run.id, '--', '/bin/sh', '-c', 'kill -KILL $PPID']);
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(bindsUnder(root).length).toBeGreaterThanOrEqual(4);
    const rec = t.sb.flow(['recover', '--json']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toEqual([expect.objectContaining({ workflow: 'exec-binds', before: 'done', after: 'rolled-back' })]);
    expect(bindsUnder(root)).toEqual([]);
    expect(hostObjects()).toEqual(before);
  });
});
