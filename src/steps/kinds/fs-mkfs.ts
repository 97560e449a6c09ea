/** fs.mkfs: a filesystem on a file or device the run made (probed by type and UUID). */
import { KernelError } from '../../errors.js';
import { line, type Executor } from '../types.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({
    target: z.string().describe('a file or block device the run made'),
    uuid: z.string().describe("the filesystem's UUID (vfat: its first 8 hex digits are the volume id), e.g. `${run.uuid}`"),
    type: z.string().optional().describe('ext4 (default) or vfat'),
    blockSize: z.int().optional().describe('ext4 only; default 4096'),
  }),
  outputs: z.strictObject({ uuid: z.string().describe('the UUID as blkid shows it (vfat: XXXX-XXXX)') }),
}));

export type MkfsArgs = z.infer<ReturnType<typeof schemas>['args']>;

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

export const spec: KindSpec = defineKind({
  kind: 'fs.mkfs',
  summary: 'an ext4 or vfat filesystem on a file or device the run made; never over another filesystem',
  durable: true,
  schemas,
  inverse: { none: 'not undone by itself: rollback removes the file it is on', skip: 'removed with its file' },
  midpoint: 'before',
  placeholders: (a) => ({ uuid: a.uuid }),
});
