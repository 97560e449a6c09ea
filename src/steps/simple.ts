/**
 * Steps whose probe is "do it again": reading the partition table (read only), online
 * resize2fs (idempotent, forward only) and mkfs of a file the run created (probe by UUID).
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
  target: string;
  uuid: string;
  blockSize: number;
}

/** fs.mkfs: only ever on a file the run created; applied when the UUID is there. */
export const fsMkfs: Executor<MkfsArgs> = {
  async apply(a, _m, env) {
    await env.kernel.filesystems.mkfsExt4({ target: a.target, uuid: a.uuid, blockSize: a.blockSize });
    return { uuid: a.uuid };
  },
  async probe(a, _m, _o, env) {
    const fs = await env.kernel.filesystems.probe(a.target).catch(() => null);
    return fs?.uuid === a.uuid ? { found: 'applied', outputs: { uuid: a.uuid } } : { found: 'absent' };
  },
  clean: async () => undefined,
  undo: async () => undefined,
  commands: (a) => ({ apply: [line('mkfs.ext4', '-F', '-q', '-b', a.blockSize, '-U', a.uuid, '--', a.target)], undo: [] }),
};
