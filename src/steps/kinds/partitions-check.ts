/** partitions.check: re-reads the partition table (read only; its probe is "do it again"). */
import { KernelError } from '../../errors.js';
import { line, type Executor } from '../types.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({
    file: z.string().describe('the image'),
    partition: z.int().nullable().describe('the partition number; null: the image has no partition table'),
    start: z.int().describe('its first sector (512 bytes)'),
    sectors: z.int().describe('its length in sectors'),
  }),
  outputs: z.strictObject({ start: z.int().describe('the first sector'), sectors: z.int().describe('the length in sectors') }),
}));

export type PartitionArgs = z.infer<ReturnType<typeof schemas>['args']>;

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
  commands: (a) => ({ apply: [line('sfdisk', '--json', '--', a.file)], undo: [] }),
};

export const spec: KindSpec = defineKind({
  kind: 'partitions.check',
  summary: 'reads the partition table again and insists it still says what the run was planned on (read only)',
  durable: false,
  schemas,
  inverse: { none: 'nothing to undo: it only reads', skip: 'read only' },
  midpoint: 'before',
  placeholders: (a) => ({ start: a.start, sectors: a.sectors }),
});
