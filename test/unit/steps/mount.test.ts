/**
 * The mount step finds the run's mount by the block device behind it (MountEntry.device),
 * not by mountinfo's major:minor, which btrfs and FUSE report as an anonymous 0:N; and it
 * never unmounts a mount somebody put over the run's.
 */
import { describe, expect, it } from 'vitest';
import type { Kernel, MountEntry } from '../../../src/kernel/types.js';
import { mountStep, type MountArgs } from '../../../src/steps/kinds/mount.js';

const a: MountArgs = { source: '/dev/loop3', majmin: '7:3', target: '/run/flow/k3m9x2ab/mnt', options: [] };
const root: MountEntry = { id: 1, parentId: 1, majmin: '8:1', root: '/', target: '/', options: ['rw'], fstype: 'ext4', source: '/dev/sda1', device: '8:1' };
const btrfs: MountEntry = { id: 40, parentId: 1, majmin: '0:45', root: '/', target: a.target, options: ['rw'], fstype: 'btrfs', source: '/dev/loop3', device: '7:3' };

/** A kernel whose only facility is mounts: a fixed listing, and the umounts asked for. */
function kernelWith(entries: MountEntry[]): { env: { kernel: Kernel; midpoint: () => void }; umounts: string[] } {
  const umounts: string[] = [];
  const mounts = { list: async () => entries, mount: async () => undefined, umount: async (t: string) => void umounts.push(t) };
  return { env: { kernel: { mounts } as unknown as Kernel, midpoint: () => undefined }, umounts };
}

describe('mount step', () => {
  it('btrfs (mountinfo 0:45, on the run’s loop 7:3): probe finds it applied, undo unmounts it', async () => {
    const { env, umounts } = kernelWith([root, btrfs]);
    expect(await mountStep.probe(a, {}, undefined, env)).toEqual({ found: 'applied', outputs: { target: a.target } });
    await mountStep.undo(a, {}, env);
    expect(umounts).toEqual([a.target]);
  });

  it('a mount at the target on another device, or on none (tmpfs 0:N): absent, never unmounted', async () => {
    for (const other of [{ ...btrfs, device: '7:4' }, { ...btrfs, fstype: 'tmpfs', source: 'tmpfs', device: null }]) {
      const { env, umounts } = kernelWith([root, other]);
      expect(await mountStep.probe(a, {}, undefined, env)).toEqual({ found: 'absent' });
      await mountStep.undo(a, {}, env);
      expect(umounts).toEqual([]);
    }
  });

  it('somebody mounted over the run’s mount: undo refuses (EBUSY) instead of unmounting theirs', async () => {
    const over: MountEntry = { id: 41, parentId: 40, majmin: '0:50', root: '/', target: a.target, options: ['rw'], fstype: 'tmpfs', source: 'tmpfs', device: null };
    const { env, umounts } = kernelWith([root, btrfs, over]);
    await expect(mountStep.undo(a, {}, env)).rejects.toMatchObject({ code: 'EBUSY', message: expect.stringContaining('tmpfs (tmpfs) is mounted over the run') });
    expect(umounts).toEqual([]);
  });
});
