/**
 * The kernel interface flow's steps use: one facility per kernel object kind. Two
 * implementations: `real/` (the tools: losetup, dmsetup, sysfs, mount, blkid, sfdisk,
 * mkfs.ext4, resize2fs; all through exec.ts) and `fake/` (in memory, same error
 * semantics). The contract suite in test/contract runs the same cases against both.
 *
 * Errors: every failure is a `KernelError` (see ../errors.ts) whose `code` is one of
 * `KernelErrorCode`; callers branch on the code, never on message text.
 */
import type { Fs } from '../fs/types.js';

/** "major:minor", e.g. "7:3"; the normal form dmsetup prints in tables. */
export type MajMin = string;

/** One loop device as `losetup -J -l -O NAME,MAJ:MIN,BACK-FILE,BACK-INO,BACK-MAJ:MIN,OFFSET,SIZELIMIT,RO,AUTOCLEAR` shows it. */
export interface LoopInfo {
  /** /dev/loopN */
  device: string;
  majmin: MajMin;
  /** path of the backing file as the kernel reports it */
  backingFile: string;
  /** inode of the backing file */
  backingIno: number;
  /** device of the filesystem holding the backing file */
  backingDev: MajMin;
  /** bytes */
  offset: number;
  /** bytes, 0 = to the end of the file */
  sizeLimit: number;
  readOnly: boolean;
  autoclear: boolean;
  /**
   * /sys/block/loopN/diskseq (Linux >= 5.15): the kernel gives the device a new number,
   * never reused within a boot, at every bind and every detach. Device + diskseq names one
   * binding exactly; the device number alone is reused by the next `losetup --find`.
   */
  diskseq: number;
}

export interface LoopAttachArgs {
  /** absolute path of an existing regular file */
  file: string;
  readOnly: boolean;
  offset?: number;
  sizeLimit?: number;
}

export interface LoopFacility {
  /** Every bound loop device on the host. */
  list(): Promise<LoopInfo[]>;
  /** `losetup --find --show` in one call; returns the new device as `list()` would show it. */
  attach(args: LoopAttachArgs): Promise<LoopInfo>;
  /** `losetup -d`, then waits until the kernel has really let go. A device still held
   *  (by dm or a mount) stays, marked autoclear, and this rejects with EBUSY. ENXIO when
   *  no such device is bound. */
  detach(device: string): Promise<void>;
}

/** `dmsetup info -c -o name,uuid,attr,open,major,minor` for one device. */
export interface DmInfo {
  name: string;
  /** '' when the device has no UUID */
  uuid: string;
  /** raw attr, e.g. "L--w" */
  attr: string;
  /** a live table is loaded */
  live: boolean;
  /** an inactive table is loaded */
  inactive: boolean;
  suspended: boolean;
  readOnly: boolean;
  /** open count */
  open: number;
  major: number;
  minor: number;
}

export interface DmCreateArgs {
  /** at most 127 bytes of [0-9A-Za-z#+\-.:=@_] */
  name: string;
  /** at most 128 bytes, same characters */
  uuid: string;
  /** table lines, "<start> <length> <target> <args...>"; devices as major:minor */
  table: string[];
}

export interface DmFacility {
  list(): Promise<DmInfo[]>;
  /** null when no device has this name */
  info(name: string): Promise<DmInfo | null>;
  /** `dmsetup create -v --concise NAME,UUID,,,TABLE` (the table in argv, never on stdin; -v: it prints the device made). EEXIST when the name or UUID is taken. */
  create(args: DmCreateArgs): Promise<DmInfo>;
  /** Live table lines as `dmsetup table` prints them ([] when no live table). ENXIO when absent. */
  table(name: string): Promise<string[]>;
  /** `dmsetup status` lines. ENXIO when absent. */
  status(name: string): Promise<string[]>;
  /** `dmsetup resume` (a device left suspended by a crash). */
  resume(name: string): Promise<void>;
  /** Removes the device with this UUID (never by name alone); EBUSY while open, ENXIO when absent. */
  remove(uuid: string): Promise<void>;
  /** Loaded targets, e.g. [{name:'linear', version:'1.4.0'}]. */
  targets(): Promise<{ name: string; version: string }[]>;
}

/** One zram device from /sys/block/zramN. */
export interface ZramInfo {
  id: number;
  /** /dev/zramN */
  device: string;
  majmin: MajMin;
  /** /sys/block/zramN/initstate == 1 */
  initialized: boolean;
  /** bytes */
  disksize: number;
  /** the selected algorithm (the bracketed one in comp_algorithm) */
  algorithm: string;
  /** names in /sys/block/zramN/holders (e.g. ["dm-2"]) */
  holders: string[];
  /**
   * /sys/block/zramN/diskseq (Linux >= 5.15): set once by hot_add, never reused within a
   * boot; sizing and reset keep it. id + diskseq names one zram device exactly, where the
   * id alone is reused by the next hot_add after a hot_remove.
   */
  diskseq: number;
}

export interface ZramFacility {
  list(): Promise<ZramInfo[]>;
  /** hot_add (loading the module first when needed); returns the new id. */
  add(): Promise<number>;
  /** Sets comp_algorithm (when given) then disksize. EBUSY when already initialized. */
  configure(id: number, settings: { disksize: number; algorithm?: string }): Promise<void>;
  /** echo 1 > reset. EBUSY while open. */
  reset(id: number): Promise<void>;
  /** hot_remove. EBUSY while open, ENXIO when absent. */
  remove(id: number): Promise<void>;
  /** /sys/block/zramN/mm_stat: bytes */
  usage(id: number): Promise<{ origDataSize: number; comprDataSize: number; memUsedTotal: number }>;
}

/** One line of /proc/self/mountinfo. */
export interface MountEntry {
  id: number;
  parentId: number;
  majmin: MajMin;
  root: string;
  /** mount point, unescaped */
  target: string;
  options: string[];
  fstype: string;
  source: string;
  /**
   * The block device the filesystem lives on: `majmin`, except that btrfs (and FUSE,
   * tmpfs, ...) report an anonymous 0:N there; then the block device node its source
   * names (btrfs: "/dev/loop3"), or null when the source is no block device.
   */
  device: MajMin | null;
}

export interface MountFacility {
  list(): Promise<MountEntry[]>;
  /**
   * mount [-t fstype] [-o options] -- SOURCE TARGET. Option `bind`: SOURCE is a directory
   * (mountinfo then shows its filesystem's device and `root` the directory within it);
   * `bind,ro` is a bind then a read-only remount (two calls: util-linux >= 2.27).
   */
  mount(args: { source: string; target: string; options: string[]; fstype?: string }): Promise<void>;
  /** umount TARGET (never lazy). EBUSY while in use, EINVAL when not a mount point. */
  umount(target: string): Promise<void>;
}

/** What `blkid -p` finds on a device or file (at an optional byte offset). */
export interface FsProbe {
  type: string;
  uuid?: string;
  /** filesystem block size in bytes, when known (ext2/3/4) */
  blockSize?: number;
  /** filesystem size in blocks (ext2/3/4) */
  blockCount?: number;
  /** the filesystem's label (blkid LABEL), when it has one */
  label?: string;
}

export interface FilesystemFacility {
  /** null when no filesystem signature is found. */
  probe(path: string, offset?: number): Promise<FsProbe | null>;
  /** mkfs.ext4 -F -q -b BLOCKSIZE -U UUID -- TARGET */
  mkfsExt4(args: { target: string; uuid: string; blockSize: number }): Promise<void>;
  /** mkfs.vfat -i VOLUMEID -- TARGET (VOLUMEID: 8 hex digits; blkid then shows UUID "XXXX-XXXX") */
  mkfsVfat(args: { target: string; volumeId: string }): Promise<void>;
  /** resize2fs DEVICE (online when mounted); idempotent. */
  grow(device: string): Promise<void>;
  /**
   * fsfreeze -f -- MOUNTPOINT (FIFREEZE): flushes the filesystem and blocks writes to it until
   * thawed (ext4: its journal checkpointed, needs_recovery cleared). EBUSY when already frozen.
   */
  freeze(mountpoint: string): Promise<void>;
  /** fsfreeze -u -- MOUNTPOINT (FITHAW). EINVAL when it is not frozen. */
  thaw(mountpoint: string): Promise<void>;
  /**
   * The text of `file` (an absolute path inside the filesystem) in the ext2/3/4 filesystem
   * starting at byte `offset` of `path`: `debugfs -R 'cat FILE' 'PATH?offset=N'`, which opens
   * it read-only. null when the filesystem has no such file; EINVAL when there is no ext
   * filesystem there.
   */
  readExtFile(path: string, offset: number, file: string): Promise<string | null>;
  /**
   * sync -f -- PATH (syncfs): what the filesystem holding PATH has cached reaches its device.
   * ENOENT when PATH does not exist.
   */
  sync(path: string): Promise<void>;
}

export interface Partition {
  /** 1-based partition number as in the node name (img1 → 1) */
  number: number;
  node: string;
  /** in units of the table's sectorSize */
  start: number;
  size: number;
  /** MBR type ("83", "c", "5") or GPT type GUID */
  type: string;
  /** GPT: the partition's UUID (its PARTUUID); absent for DOS (see PartitionTable.id) */
  uuid?: string;
}

export interface PartitionTable {
  label: string;
  /** the disk identifier as sfdisk prints it: DOS "0x5452574f" (PARTUUIDs are 5452574f-01, ...), GPT a GUID */
  id?: string;
  sectorSize: number;
  partitions: Partition[];
}

export interface PartitionFacility {
  /** `sfdisk --json FILE`; null when the file has no recognised partition table. */
  read(file: string): Promise<PartitionTable | null>;
}

/** A block device open for reading (SystemFacility.openBlockDevice). */
export interface DeviceReader {
  /** Up to `length` bytes at byte `offset`; fewer at the end of the device. */
  read(length: number, offset: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface SystemFacility {
  /** /proc/sys/kernel/random/boot_id */
  bootId(): Promise<string>;
  /** MemTotal from /proc/meminfo, bytes */
  memTotal(): Promise<number>;
  /** size in bytes of a block device (blockdev --getsize64) */
  blockDeviceSize(device: string): Promise<number>;
  /**
   * Opens a block device to read what it holds now: its page cache is written back and dropped
   * first (blockdev --flushbufs, BLKFLSBUF). Blocks read earlier stay in that cache, while a
   * filesystem mounted on the device (or a loop device's backing file) changes the device by
   * another path: read through the cache alone, they would come back stale. ENOENT for a path
   * that does not exist, EINVAL for one that is no block device.
   */
  openBlockDevice(device: string): Promise<DeviceReader>;
}

/** Everything flow does to the host goes through one of these. */
export interface Kernel {
  loop: LoopFacility;
  dm: DmFacility;
  zram: ZramFacility;
  mounts: MountFacility;
  filesystems: FilesystemFacility;
  partitions: PartitionFacility;
  system: SystemFacility;
  /** files and directories (backing files, mount points) */
  fs: Fs;
}
