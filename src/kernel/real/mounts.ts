/**
 * MountFacility on the real kernel: /proc/self/mountinfo, mount(8), umount(8) (never lazy).
 * A filesystem with an anonymous device number (btrfs) is tied to its block device by
 * the device node its source names (see MountEntry.device).
 */
import { KernelError } from '../../errors.js';
import { runCommand } from '../exec.js';
import { parseMountinfo } from '../parse/mountinfo.js';
import type { MountEntry, MountFacility } from '../types.js';
import { realpath } from 'node:fs/promises';
import { readText } from './sysfs.js';

/** An anonymous device number (major 0): btrfs, FUSE, tmpfs, proc, ... */
const anonymous = (majmin: string) => majmin.startsWith('0:');

/** "major:minor" of the block device node `source` names (following /dev/mapper links), or null. */
async function blockDeviceOf(source: string): Promise<string | null> {
  if (!source.startsWith('/dev/')) return null;
  try {
    const node = await realpath(source);
    const name = node.slice(node.lastIndexOf('/') + 1);
    return /^[A-Za-z0-9_.-]+$/.test(name) ? await readText(`/sys/class/block/${name}/dev`) : null;
  } catch {
    return null; // gone since it was mounted, or no block device
  }
}

function checkPath(path: string, what: string): void {
  if (path === '' || path.startsWith('-')) throw new KernelError('EINVAL', `bad ${what} ${JSON.stringify(path)}`);
}

/** The real mount facility. */
export function createRealMounts(): MountFacility {
  async function list(): Promise<MountEntry[]> {
    const entries = parseMountinfo(await readText('/proc/self/mountinfo'));
    return Promise.all(entries.map(async (m) => ({ ...m, device: anonymous(m.majmin) ? await blockDeviceOf(m.source) : m.majmin })));
  }

  async function mount(args: { source: string; target: string; options: string[]; fstype?: string }): Promise<void> {
    checkPath(args.source, 'mount source');
    if (!args.target.startsWith('/')) throw new KernelError('EINVAL', `mount target must be absolute: ${JSON.stringify(args.target)}`);
    if (args.options.some((o) => o === '' || o.includes(','))) throw new KernelError('EINVAL', `bad mount options ${JSON.stringify(args.options)}`);
    const argv = ['mount'];
    if (args.fstype !== undefined) argv.push('-t', args.fstype);
    if (args.options.length > 0) argv.push('-o', args.options.join(','));
    argv.push('--', args.source, args.target);
    await runCommand(argv);
  }

  async function umount(target: string): Promise<void> {
    if (!target.startsWith('/')) throw new KernelError('EINVAL', `umount target must be absolute: ${JSON.stringify(target)}`);
    // "target is busy." → EBUSY, "not mounted." / "no mount point specified." → EINVAL (exit 32)
    await runCommand(['umount', '--', target]);
  }

  return { list, mount, umount };
}
