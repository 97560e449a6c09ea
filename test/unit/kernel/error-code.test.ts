import { describe, expect, it } from 'vitest';
import { codeFromErrno, codeFromStderr } from '../../../src/kernel/parse/error-code.js';
import { captured, handwritten } from './fixture.js';

describe('codeFromStderr on captured error output', () => {
  it.each([
    ['losetup-detach-unbound.txt.stderr', 'ENXIO'],
    ['losetup-attach-missing-file.txt.stderr', 'ENOENT'],
    ['umount-busy.txt.stderr', 'EBUSY'],
    ['umount-not-mounted.txt.stderr', 'EINVAL'],
    ['mount-missing-target.txt.stderr', 'ENOENT'],
    ['sfdisk-none.json.stderr', 'EFAIL'],
    ['dmsetup-info-no-dm.txt.stderr', 'ENOTSUP'],
    ['dmsetup-targets-no-dm.txt.stderr', 'ENOTSUP'],
  ] as const)('%s → %s', (file, code) => {
    expect(codeFromStderr(captured(file))).toBe(code);
  });
});

describe('codeFromStderr on output seen on hosts without device-mapper', () => {
  it('a /dev/mapper/control left by an earlier dmsetup, and nothing else said → ENOTSUP', () => {
    expect(codeFromStderr('/dev/mapper/control: open failed: No such device\n')).toBe('ENOTSUP');
  });
});

describe('codeFromStderr on fsfreeze (util-linux: err(3) "PATH: freeze failed")', () => {
  it('frozen already → EBUSY (fs.freeze records another program\'s freeze); not frozen → EINVAL (fs.freeze\'s undo: done)', () => {
    expect(codeFromStderr('fsfreeze: /run/flow/k3m9x2ab/mnt: freeze failed: Device or resource busy\n')).toBe('EBUSY');
    expect(codeFromStderr('fsfreeze: /run/flow/k3m9x2ab/mnt: unfreeze failed: Invalid argument\n')).toBe('EINVAL');
  });
});

describe('codeFromStderr on hand-written dmsetup error output', () => {
  it.each([
    ['dmsetup-info-missing.stderr', 'ENXIO'],
    ['dmsetup-create-taken.stderr', 'EBUSY'],
    ['dmsetup-remove-busy.stderr', 'EBUSY'],
    ['dmsetup-create-bad-table.stderr', 'EINVAL'],
  ] as const)('%s → %s', (file, code) => {
    expect(codeFromStderr(handwritten(file))).toBe(code);
  });
});

describe('codeFromStderr patterns', () => {
  it.each([
    ['device-mapper: remove ioctl on x  failed: Device or resource busy', 'EBUSY'],
    ['umount: /mnt: target is busy.', 'EBUSY'],
    ['mount: /mnt: /dev/loop0 already mounted on /mnt.', 'EBUSY'],
    ['mkfs.fat 4.2 (2021-01-31)\nmkfs.vfat: /dev/loop0 contains a mounted filesystem.', 'EBUSY'],
    ['/dev/loop0 contains a ext4 file system\n\tlast mounted on /mnt\n/dev/loop0 is mounted; will not make a filesystem here!', 'EBUSY'],
    ['losetup: /dev/loop9: detach failed: No such device or address', 'ENXIO'],
    ['blockdev: cannot open /dev/zram9: No such device', 'ENXIO'],
    ['Device does not exist.\nCommand failed.', 'ENXIO'],
    ['mkdir: cannot create directory: File exists', 'EEXIST'],
    ['something already exists', 'EEXIST'],
    ['sfdisk: cannot open /x: No such file or directory', 'ENOENT'],
    ['umount: /nope: no mount point specified.', 'EINVAL'],
    ['mount: /mnt: wrong fs type, bad option, bad superblock on /dev/loop0, missing codepage or helper program, or other error.', 'EINVAL'],
    ['device-mapper: reload ioctl on x failed: Invalid argument', 'EINVAL'],
    ['losetup: /x: failed to set up loop device: Permission denied', 'EPERM'],
    ['mount: /mnt: must be superuser to use mount.', 'EPERM'],
    ['ioctl: Operation not permitted', 'EPERM'],
    ['mkfs.ext4: No space left on device while writing out and closing file system', 'ENOSPC'],
    ['blkid: error reading: Input/output error', 'EIO'],
    ['something odd happened', 'EFAIL'],
    ['', 'EFAIL'],
  ] as const)('%j → %s', (text, code) => {
    expect(codeFromStderr(text)).toBe(code);
  });
});

describe('codeFromErrno', () => {
  it.each([
    ['EBUSY', 'EBUSY'],
    ['ENODEV', 'ENXIO'],
    ['ENXIO', 'ENXIO'],
    ['EACCES', 'EPERM'],
    ['EROFS', 'EPERM'],
    ['EINVAL', 'EINVAL'],
    ['ENOENT', 'ENOENT'],
    ['EWHATEVER', 'EFAIL'],
    [undefined, 'EFAIL'],
  ] as const)('%s → %s', (errno, code) => {
    expect(codeFromErrno(errno)).toBe(code);
  });
});
