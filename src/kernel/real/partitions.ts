/** PartitionFacility on the real kernel: sfdisk --json. */
import { KernelError } from '../../errors.js';
import { runCommand } from '../exec.js';
import { parseSfdiskJson } from '../parse/sfdisk.js';
import type { PartitionFacility, PartitionTable } from '../types.js';

/** The real partition facility. */
export function createRealPartitions(): PartitionFacility {
  async function read(file: string): Promise<PartitionTable | null> {
    if (!file.startsWith('/')) throw new KernelError('EINVAL', `path must be absolute: ${JSON.stringify(file)}`);
    try {
      return parseSfdiskJson((await runCommand(['sfdisk', '--json', '--', file])).stdout);
    } catch (err) {
      // exit 1: "sfdisk: FILE: does not contain a recognized partition table"
      if (err instanceof KernelError && /does not contain a recognized partition table/.test(err.stderr ?? '')) return null;
      throw err;
    }
  }
  return { read };
}
