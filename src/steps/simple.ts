/**
 * Steps whose probe is "do it again": reading the partition table (read only), online
 * resize2fs (idempotent, forward only) and mkfs of a file or device the run made (probe by
 * type and UUID).
 */
import { KernelError } from '../errors.js';
import { line, type Executor } from './types.js';

export interface PartitionArgs extends Record<string, unknown> {
  file: string;
  partition: number | null;
  start: number;
  sectors: number;
}

/** partitions.check: re-reads the table and insists it still says what the run was planned on. */
export const partitionsCheck: Executor<PartitionArgs> = {
  async apply(a, _m, env) {
    const table = await env.kernel.partitions.read(a.file);
    if (a.partition === null) {
      if (table) throw new KernelError('EINVAL', `${a.file} now has a partition table; the run was planned on the whole image`);
      return { start: a.start, sectors: a.sectors };
    }
    const p = table?.partitions.find((x) => x.number === a.partition);
    const start = p && table ? (p.start * table.sectorSize) / 512 : -1;
    const sectors = p && table ? (p.size * table.sectorSize) / 512 : -1;
    if (start !== a.start || sectors !== a.sectors) {
      throw new KernelError('EINVAL', `partition ${a.partition} of ${a.file} changed since the run was planned (start ${a.start}, ${a.sectors} sectors)`);
    }
    return { start, sectors };
  },
  probe: async () => ({ found: 'absent', detail: 'read only: read again' }),
  clean: async () => undefined,
  undo: async () => undefined,
  commands: (a) => ({ apply: [line('sfdisk', '--json', a.file)], undo: [] }),
};

export interface GrowArgs extends Record<string, unknown> {
  device: string;
  target: string;
}

/** fs.grow: online resize2fs; running it again prints "Nothing to do". */
export const fsGrow: Executor<GrowArgs> = {
  async apply(a, _m, env) {
    await env.kernel.filesystems.grow(a.device);
    return {};
  },
  probe: async () => ({ found: 'absent', detail: 'idempotent: run again' }),
  clean: async () => undefined,
  undo: async () => undefined,
  commands: (a) => ({ apply: [line('resize2fs', a.device)], undo: [] }),
};

export interface MkfsArgs extends Record<string, unknown> {
  /** a file the run created, or a block device the run made (loop, dm, zram) */
  target: string;
  /** the filesystem's UUID; vfat has a 32-bit volume id instead: its first 8 hex digits */
  uuid: string;
  /** 'ext4' (the default) or 'vfat' */
  type?: string;
  /** ext4 only; default 4096 (zram and a snapshot on zram need 4096) */
  blockSize?: number;
}

const FS_TYPES = ['ext4', 'vfat'];

/** What mkfs is told and what blkid shows afterwards. */
function mkfsPlan(a: MkfsArgs): { type: string; blockSize: number; volumeId: string; shown: string } {
  const type = a.type ?? 'ext4';
  if (!FS_TYPES.includes(type)) throw new KernelError('EINVAL', `fs.mkfs: unknown filesystem type ${JSON.stringify(type)} (${FS_TYPES.join(', ')})`);
  const hex = a.uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new KernelError('EINVAL', `fs.mkfs: ${JSON.stringify(a.uuid)} is not a UUID`);
  const volumeId = hex.slice(0, 8).toUpperCase();
  return { type, blockSize: a.blockSize ?? 4096, volumeId, shown: type === 'vfat' ? `${volumeId.slice(0, 4)}-${volumeId.slice(4)}` : a.uuid.toLowerCase() };
}

/**
 * fs.mkfs: applied when the target carries the run's filesystem (type and UUID). Only
 * ever on something blank: a target that already holds another filesystem is refused,
 * never formatted over (mkfs without a terminal does not ask).
 */
export const fsMkfs: Executor<MkfsArgs> = {
  async apply(a, _m, env) {
    const p = mkfsPlan(a);
    const found = await env.kernel.filesystems.probe(a.target);
    if (found && found.type === p.type && found.uuid?.toLowerCase() === p.shown.toLowerCase()) return { uuid: p.shown };
    if (found) {
      throw new KernelError('EEXIST', `${a.target} already holds a ${found.type} filesystem${found.uuid ? ` (UUID ${found.uuid})` : ''}; flow makes filesystems only on blank files and devices: wipe it first (wipefs -a -- ${a.target}) if it is not needed`);
    }
    if (p.type === 'vfat') await env.kernel.filesystems.mkfsVfat({ target: a.target, volumeId: p.volumeId });
    else await env.kernel.filesystems.mkfsExt4({ target: a.target, uuid: a.uuid, blockSize: p.blockSize });
    return { uuid: p.shown };
  },
  async probe(a, _m, _o, env) {
    const p = mkfsPlan(a);
    const fs = await env.kernel.filesystems.probe(a.target).catch(() => null);
    return fs?.type === p.type && fs.uuid?.toLowerCase() === p.shown.toLowerCase() ? { found: 'applied', outputs: { uuid: p.shown } } : { found: 'absent' };
  },
  clean: async () => undefined,
  undo: async () => undefined,
  commands(a) {
    // plan and operator messages never fail: an invalid type or UUID is refused by apply
    const p = (() => {
      try {
        return mkfsPlan(a);
      } catch {
        return { type: a.type ?? 'ext4', blockSize: a.blockSize ?? 4096, volumeId: a.uuid, shown: a.uuid };
      }
    })();
    return { apply: [p.type === 'vfat' ? line('mkfs.vfat', '-i', p.volumeId, '--', a.target) : line('mkfs.ext4', '-F', '-q', '-b', p.blockSize, '-U', a.uuid, '--', a.target)], undo: [] };
  },
};
