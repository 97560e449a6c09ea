/**
 * Maps a tool's error text (LC_ALL=C) or a Node errno code to a `KernelErrorCode`.
 * Pure: the one table exec.ts and the sysfs writers use, so callers branch on codes.
 */
import type { KernelErrorCode } from '../../errors.js';

/** Ordered: the first pattern that matches wins (more specific before more general). */
const STDERR_TABLE: ReadonlyArray<readonly [RegExp, KernelErrorCode]> = [
  // dmsetup on a kernel without device-mapper (captured: dmsetup-info-no-dm.txt.stderr)
  [/Failure to communicate with kernel device-mapper driver/i, 'ENOTSUP'],
  // a /dev/mapper/control node left by an earlier dmsetup on a kernel without device-mapper
  [/\/dev\/mapper\/control: open failed/i, 'ENOTSUP'],
  [/Device or resource busy|target is busy|already mounted/i, 'EBUSY'],
  // mkfs.vfat (dosfstools): "/dev/loop0 contains a mounted filesystem."; mkfs.ext4: "... is mounted; will not make a filesystem here!"
  [/contains a mounted filesystem|is mounted; will not make a filesystem|apparently in use by the system/i, 'EBUSY'],
  [/No such device or address/i, 'ENXIO'],
  // dmsetup: "Device does not exist." for an unknown name or UUID
  [/Device does not exist/i, 'ENXIO'],
  [/No such device\b/i, 'ENXIO'],
  [/File exists|already exists/i, 'EEXIST'],
  [/No such file or directory|does not exist/i, 'ENOENT'],
  // umount: "not mounted." / "no mount point specified."; mount: "wrong fs type, bad option, bad superblock"
  [/not mounted|no mount point specified|wrong fs type|Invalid argument/i, 'EINVAL'],
  // blockdev on a path that is no block device: "BLKFLSBUF: Inappropriate ioctl for device"
  [/Inappropriate ioctl for device/i, 'EINVAL'],
  [/Operation not permitted|Permission denied|must be superuser/i, 'EPERM'],
  [/No space left/i, 'ENOSPC'],
  [/Input\/output error/i, 'EIO'],
];

/** The code for a failed command's error text; 'EFAIL' when no pattern matches. */
export function codeFromStderr(text: string): KernelErrorCode {
  for (const [pattern, code] of STDERR_TABLE) if (pattern.test(text)) return code;
  return 'EFAIL';
}

const ERRNO_TABLE: Readonly<Record<string, KernelErrorCode>> = {
  EBUSY: 'EBUSY',
  ENXIO: 'ENXIO',
  ENODEV: 'ENXIO',
  EEXIST: 'EEXIST',
  ENOENT: 'ENOENT',
  EINVAL: 'EINVAL',
  EPERM: 'EPERM',
  EACCES: 'EPERM',
  EROFS: 'EPERM',
  ENOSPC: 'ENOSPC',
  ENOMEM: 'ENOSPC',
  EIO: 'EIO',
  ETIMEDOUT: 'ETIMEDOUT',
};

/** The code for a Node-style errno (`err.code`, e.g. from a sysfs write); 'EFAIL' otherwise. */
export function codeFromErrno(errno: string | undefined): KernelErrorCode {
  return (errno !== undefined && ERRNO_TABLE[errno]) || 'EFAIL';
}
