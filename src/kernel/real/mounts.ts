/** MountFacility on the real kernel: /proc/self/mountinfo, mount(8), umount(8) (never lazy). */
import { KernelError } from '../../errors.js';
import { runCommand } from '../exec.js';
import { parseMountinfo } from '../parse/mountinfo.js';
import type { MountEntry, MountFacility } from '../types.js';
import { readText } from './sysfs.js';

function checkPath(path: string, what: string): void {
  if (path === '' || path.startsWith('-')) throw new KernelError('EINVAL', `bad ${what} ${JSON.stringify(path)}`);
}

/** The real mount facility. */
export function createRealMounts(): MountFacility {
  async function list(): Promise<MountEntry[]> {
    return parseMountinfo(await readText('/proc/self/mountinfo'));
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
