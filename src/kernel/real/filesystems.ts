/** FilesystemFacility on the real kernel: blkid -p, mkfs.ext4, mkfs.vfat (dosfstools), resize2fs. */
import { open } from 'node:fs/promises';
import { KernelError } from '../../errors.js';
import { runCommand } from '../exec.js';
import { fsProbeFromBlkid } from '../parse/blkid.js';
import { parseExtSuperblock, type ExtSuperblock } from '../parse/ext-superblock.js';
import type { FilesystemFacility, FsProbe } from '../types.js';

/** Reads the ext superblock at `offset` + 1024; null when unreadable or not ext. */
async function readExtSuperblock(path: string, offset: number): Promise<ExtSuperblock | null> {
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(1024);
      const { bytesRead } = await fh.read(buf, 0, 1024, offset + 1024);
      return parseExtSuperblock(buf.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  } catch {
    return null;
  }
}

function checkPath(path: string): void {
  if (!path.startsWith('/')) throw new KernelError('EINVAL', `path must be absolute: ${JSON.stringify(path)}`);
}

/** The real filesystem facility. */
export function createRealFilesystems(): FilesystemFacility {
  async function probe(path: string, offset?: number): Promise<FsProbe | null> {
    checkPath(path);
    if (offset !== undefined && !(Number.isSafeInteger(offset) && offset >= 0)) throw new KernelError('EINVAL', `bad offset ${offset}`);
    const argv = ['blkid', '-p', '-o', 'export'];
    if (offset) argv.push('-O', String(offset));
    argv.push('--', path);
    // exit 2: no signature found
    const r = await runCommand(argv, { okExitCodes: [0, 2] });
    if (r.exitCode === 2) return null;
    const found = fsProbeFromBlkid(r.stdout);
    if (!found || !/^ext[234]$/.test(found.type)) return found;
    const sb = await readExtSuperblock(path, offset ?? 0);
    if (sb) {
      found.blockSize = sb.blockSize;
      found.blockCount = sb.blockCount;
    }
    return found;
  }

  async function mkfsExt4(args: { target: string; uuid: string; blockSize: number }): Promise<void> {
    checkPath(args.target);
    if (![1024, 2048, 4096, 8192, 16384, 32768, 65536].includes(args.blockSize)) throw new KernelError('EINVAL', `bad ext4 block size ${args.blockSize}`);
    if (!/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(args.uuid)) throw new KernelError('EINVAL', `bad filesystem UUID ${JSON.stringify(args.uuid)}`);
    await runCommand(['mkfs.ext4', '-F', '-q', '-b', String(args.blockSize), '-U', args.uuid, '--', args.target], { timeoutMs: 600_000 });
  }

  async function mkfsVfat(args: { target: string; volumeId: string }): Promise<void> {
    checkPath(args.target);
    if (!/^[0-9A-Fa-f]{8}$/.test(args.volumeId)) throw new KernelError('EINVAL', `bad vfat volume ID ${JSON.stringify(args.volumeId)}: 8 hex digits`);
    await runCommand(['mkfs.vfat', '-i', args.volumeId, '--', args.target], { timeoutMs: 600_000 });
  }

  async function grow(device: string): Promise<void> {
    checkPath(device);
    // a second run prints "Nothing to do!" and exits 0
    await runCommand(['resize2fs', '--', device], { timeoutMs: 600_000 });
  }

  return { probe, mkfsExt4, mkfsVfat, grow };
}
