/** FilesystemFacility on the real kernel: blkid -p, mkfs.ext4, mkfs.vfat (dosfstools), resize2fs, fsfreeze, debugfs, sync -f. */
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

/** a file inside an ext filesystem that debugfs -R can name as one argument */
const EXT_FILE = /^\/[A-Za-z0-9._+\/-]+$/;

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

  async function freeze(mountpoint: string): Promise<void> {
    checkPath(mountpoint);
    // "freeze failed: Device or resource busy" when frozen already (error-code.ts: EBUSY)
    await runCommand(['fsfreeze', '-f', '--', mountpoint]);
  }

  async function thaw(mountpoint: string): Promise<void> {
    checkPath(mountpoint);
    // "unfreeze failed: Invalid argument" when not frozen (error-code.ts: EINVAL)
    await runCommand(['fsfreeze', '-u', '--', mountpoint]);
  }

  async function readExtFile(path: string, offset: number, file: string): Promise<string | null> {
    checkPath(path);
    // ext2fs reads "NAME?offset=N" as the file and its io options: a '?' in the path would be misread
    if (path.includes('?')) throw new KernelError('EINVAL', `debugfs cannot open a path containing '?': ${JSON.stringify(path)}`);
    if (!(Number.isSafeInteger(offset) && offset >= 0)) throw new KernelError('EINVAL', `bad offset ${offset}`);
    // debugfs splits its request at white space: only plain path characters
    if (!EXT_FILE.test(file)) throw new KernelError('EINVAL', `bad file name ${JSON.stringify(file)}`);
    // without -w debugfs opens the filesystem read-only; it exits 0 for a missing file (stderr says so)
    const r = await runCommand(['debugfs', '-R', `cat ${file}`, `${path}?offset=${offset}`], { okExitCodes: [0, 1] });
    // stderr: the version banner, then what went wrong (nothing when the file was read)
    const said = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/^debugfs \d/.test(l)).join(' ');
    if (/while trying to open|Could not open/.test(said) || r.exitCode !== 0) throw new KernelError('EINVAL', `debugfs: no ext2/3/4 filesystem at byte ${offset} of ${path}: ${said}`);
    if (/File not found by ext2_lookup/.test(said)) return null;
    if (said !== '') throw new KernelError('EIO', `debugfs: cannot read ${file} at byte ${offset} of ${path}: ${said}`);
    return r.stdout;
  }

  async function sync(path: string): Promise<void> {
    checkPath(path);
    // "sync: error opening 'PATH': No such file or directory" (ENOENT)
    await runCommand(['sync', '-f', '--', path]);
  }

  return { probe, mkfsExt4, mkfsVfat, grow, freeze, thaw, readExtFile, sync };
}
