/** ZramFacility on the real kernel: /sys/class/zram-control and /sys/block/zramN. */
import { KernelError } from '../../errors.js';
import { runCommand } from '../exec.js';
import { parseCompAlgorithm, parseMmStat } from '../parse/zram.js';
import type { ZramFacility, ZramInfo } from '../types.js';
import { readDiskseq } from './diskseq.js';
import { exists, listDir, readText, writeText } from './sysfs.js';

const CONTROL = '/sys/class/zram-control';

function checkId(id: number): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new KernelError('EINVAL', `bad zram id ${id}`);
  return `/sys/block/zram${id}`;
}

async function existing(id: number): Promise<string> {
  const dir = checkId(id);
  if (!(await exists(dir))) throw new KernelError('ENXIO', `no zram device ${id}`);
  return dir;
}

/**
 * One device's attributes. diskseq is read first and last: a device removed and added
 * again under the same id while we read fails with ENXIO-like EBUSY instead of mixing two
 * devices' attributes.
 */
async function read(id: number): Promise<ZramInfo> {
  const dir = `/sys/block/zram${id}`;
  const seq = await readDiskseq(`zram${id}`);
  if (seq === null) throw new KernelError('ENXIO', `no zram device ${id}`);
  const info: ZramInfo = {
    id,
    device: `/dev/zram${id}`,
    majmin: await readText(`${dir}/dev`),
    initialized: (await readText(`${dir}/initstate`)) === '1',
    disksize: Number(await readText(`${dir}/disksize`)),
    algorithm: parseCompAlgorithm(await readText(`${dir}/comp_algorithm`)).selected,
    holders: (await listDir(`${dir}/holders`)).sort(),
    diskseq: seq,
  };
  if ((await readDiskseq(`zram${id}`)) !== seq) throw new KernelError('EBUSY', `zram${id} was removed and added again while flow read it; try again`);
  return info;
}

/** The real zram facility. */
export function createRealZram(): ZramFacility {
  async function list(): Promise<ZramInfo[]> {
    const ids = (await listDir('/sys/block'))
      .map((n) => /^zram(\d+)$/.exec(n)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    const out: ZramInfo[] = [];
    for (const id of ids) {
      // a device removed between readdir and read is simply not listed
      try {
        out.push(await read(id));
      } catch (err) {
        if (await exists(`/sys/block/zram${id}`)) throw err;
      }
    }
    return out;
  }

  async function add(): Promise<number> {
    if (!(await exists(CONTROL))) {
      // num_devices=0: load the module without creating a zram0 nobody asked for
      await runCommand(['modprobe', 'zram', 'num_devices=0']).catch((err: unknown) => {
        throw new KernelError('ENOTSUP', `zram is not available (${CONTROL} missing; modprobe zram failed: ${(err as Error).message})`);
      });
      if (!(await exists(CONTROL))) throw new KernelError('ENOTSUP', `zram is not available: ${CONTROL} missing after modprobe zram`);
    }
    const text = await readText(`${CONTROL}/hot_add`);
    if (!/^\d+$/.test(text)) throw new KernelError('EFAIL', `${CONTROL}/hot_add returned ${JSON.stringify(text)}`);
    return Number(text);
  }

  async function configure(id: number, settings: { disksize: number; algorithm?: string }): Promise<void> {
    const dir = await existing(id);
    if (!Number.isSafeInteger(settings.disksize) || settings.disksize <= 0) throw new KernelError('EINVAL', `bad zram disksize ${settings.disksize}`);
    if (settings.algorithm !== undefined && !/^[a-z0-9-]+$/.test(settings.algorithm)) throw new KernelError('EINVAL', `bad zram algorithm ${JSON.stringify(settings.algorithm)}`);
    if ((await readText(`${dir}/initstate`)) === '1') throw new KernelError('EBUSY', `zram${id} is already initialized`);
    // the algorithm must be set before disksize (after it, the kernel refuses with EBUSY)
    if (settings.algorithm !== undefined) await writeText(`${dir}/comp_algorithm`, settings.algorithm);
    await writeText(`${dir}/disksize`, String(settings.disksize));
  }

  async function reset(id: number): Promise<void> {
    const dir = await existing(id);
    await writeText(`${dir}/reset`, '1');
  }

  async function remove(id: number): Promise<void> {
    await existing(id);
    await writeText(`${CONTROL}/hot_remove`, String(id));
  }

  async function usage(id: number): Promise<{ origDataSize: number; comprDataSize: number; memUsedTotal: number }> {
    const dir = await existing(id);
    const s = parseMmStat(await readText(`${dir}/mm_stat`));
    return { origDataSize: s.origDataSize, comprDataSize: s.comprDataSize, memUsedTotal: s.memUsedTotal };
  }

  return { list, add, configure, reset, remove, usage };
}
