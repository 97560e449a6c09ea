/** LoopFacility on the real kernel: losetup plus /sys/block/loopN. */
import { KernelError } from '../../errors.js';
import { runCommand } from '../exec.js';
import { LOSETUP_COLUMNS, parseLosetupJson } from '../parse/losetup.js';
import type { LoopAttachArgs, LoopFacility, LoopInfo } from '../types.js';
import { readDiskseq } from './diskseq.js';
import { exists, listDir, readText, sleep } from './sysfs.js';

/** How long detach waits for the kernel to let go (the default suits tests and the CLI). */
export interface LoopOptions {
  detachTimeoutMs?: number;
  pollMs?: number;
}

/** "/dev/loop7" → "loop7"; EINVAL for anything else. */
export function loopName(device: string): string {
  const m = /^\/dev\/(loop\d+)$/.exec(device);
  if (!m) throw new KernelError('EINVAL', `not a loop device: ${JSON.stringify(device)}`);
  return m[1]!;
}

function checkBytes(value: number | undefined, what: string): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new KernelError('EINVAL', `${what} must be a non-negative integer, got ${value}`);
  }
}

/** A fingerprint of the current binding: diskseq changes with every bind and detach (Linux >= 5.15). */
async function binding(name: string): Promise<string | null> {
  const dir = `/sys/block/${name}`;
  if (!(await exists(`${dir}/loop/backing_file`))) return null;
  const seq = await readDiskseq(name).catch(() => null);
  const file = await readText(`${dir}/loop/backing_file`).catch(() => '');
  return `${seq}\n${file}`;
}

/** The real loop facility. */
export function createRealLoop(options: LoopOptions = {}): LoopFacility {
  const detachTimeoutMs = options.detachTimeoutMs ?? 5000;
  const pollMs = options.pollMs ?? 50;

  /**
   * losetup does not show diskseq: read it from sysfs before and after losetup, and read
   * again when a device was rebound in between, so that each row's diskseq belongs to the
   * binding the row describes.
   */
  async function list(): Promise<LoopInfo[]> {
    for (let attempt = 0; ; attempt++) {
      const before = await seqs();
      const { stdout } = await runCommand(['losetup', '-J', '-l', '-O', LOSETUP_COLUMNS]);
      const rows = parseLosetupJson(stdout);
      const after = await seqs();
      const out: LoopInfo[] = [];
      let stable = true;
      for (const row of rows) {
        const name = loopName(row.device);
        const seq = after.get(name);
        if (seq === undefined || before.get(name) !== seq) stable = false;
        else out.push({ ...row, diskseq: seq });
      }
      if (stable) return out;
      // a device in the listing was bound or detached meanwhile (other programs, other runs): read again
      if (attempt >= 9) throw new KernelError('EBUSY', 'loop devices kept changing while flow listed them (bound or detached by another program); try again');
      await sleep(pollMs * (1 + Math.random()));
    }
  }

  /** diskseq of every loop device node in /sys/block. */
  async function seqs(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const name of (await listDir('/sys/block')).filter((n) => /^loop\d+$/.test(n))) {
      const seq = await readDiskseq(name);
      if (seq !== null) out.set(name, seq);
    }
    return out;
  }

  async function detach(device: string): Promise<void> {
    const name = loopName(device);
    const before = await binding(name);
    if (before === null) throw new KernelError('ENXIO', `${device} is not bound to a file`);
    await runCommand(['losetup', '-d', device]);
    const deadline = Date.now() + detachTimeoutMs;
    for (;;) {
      const now = await binding(name);
      // gone, or already bound again by someone else (loop numbers are reused)
      if (now === null || now !== before) return;
      if (Date.now() >= deadline) break;
      await sleep(pollMs);
    }
    throw new KernelError(
      'EBUSY',
      `${device} is still in use (mounted, held by device-mapper or open); the kernel will detach it at its last close`,
      ['losetup', '-d', device],
    );
  }

  async function attach(args: LoopAttachArgs): Promise<LoopInfo> {
    if (!args.file.startsWith('/')) throw new KernelError('EINVAL', `backing file must be an absolute path: ${JSON.stringify(args.file)}`);
    checkBytes(args.offset, 'offset');
    checkBytes(args.sizeLimit, 'sizeLimit');
    const argv = ['losetup', '--find', '--show'];
    if (args.readOnly) argv.push('--read-only');
    if (args.offset) argv.push('--offset', String(args.offset));
    if (args.sizeLimit) argv.push('--sizelimit', String(args.sizeLimit));
    argv.push('--', args.file);
    const device = (await runCommand(argv)).stdout.trim();
    const name = loopName(device);
    // losetup silently binds read-only when it cannot open the file read-write
    if (!args.readOnly && (await readText(`/sys/block/${name}/ro`)) === '1') {
      await detach(device).catch(() => undefined);
      throw new KernelError('EPERM', `${args.file} cannot be opened read-write (read-only filesystem or immutable file); losetup fell back to read-only`, argv);
    }
    const info = (await list()).find((l) => l.device === device);
    if (!info) throw new KernelError('EFAIL', `losetup printed ${device} but it is not bound to ${args.file}`, argv);
    return info;
  }

  return { list, attach, detach };
}
