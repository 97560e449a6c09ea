/**
 * snapshot-image: a throwaway writable copy of a partition of a disk image.
 * image → read-only loop → base (linear over the partition + zero up to --size) →
 * snapshot with a zram COW → mount → online grow. Rollback throws every change away.
 */
import { z } from '../src/zod.js';
import { dmUuid, mountSteps, output, pick, type StepDef, fileIdentitySchema, lazySchema, type WorkflowDef } from './types.js';

const snapshotImageParamsSchema = lazySchema(() =>
  z.object({
    image: z.string(),
    imageIdentity: fileIdentitySchema(),
    /** partition number, or null for a whole image without a partition table */
    partition: z.number().int().positive().nullable(),
    /** partition start and size in 512-byte sectors (whole image: 0 and its size) */
    partStart: z.number().int().nonnegative(),
    partSectors: z.number().int().positive(),
    /** snapshot device size in bytes (never smaller than the partition) */
    size: z.number().int().positive(),
    cowSize: z.number().int().positive(),
    chunk: z.number().int().positive(),
    name: z.string(),
    mountpoint: z.string().nullable(),
    mountDirs: z.array(z.string()),
    grow: z.boolean(),
    /** --cow-file: the COW in a file behind a loop device (absent in journals of older flows: zram) */
    cowFile: z.string().nullable().optional(),
    cowFileIdentity: fileIdentitySchema().nullable().optional(),
    reuseCow: z.boolean().optional(),
  }),
);
/** Parses a run's recorded params (its schema built at the first parse). */
export const snapshotImageParams = { parse: (raw: unknown) => snapshotImageParamsSchema().parse(raw) };
export type SnapshotImageParams = z.infer<ReturnType<typeof snapshotImageParamsSchema>>;

/** Snapshot size in sectors: --size, but never less than the partition. */
export function snapshotSectors(p: SnapshotImageParams): number {
  return Math.max(Math.floor(p.size / 512), p.partSectors);
}

/** The base device's table: the partition, then zeros up to the snapshot size. */
export function baseTable(loop: string, p: { partStart: number; partSectors: number }, total: number): string[] {
  const lines = [`0 ${p.partSectors} linear ${loop} ${p.partStart}`];
  if (total > p.partSectors) lines.push(`${p.partSectors} ${total - p.partSectors} zero`);
  return lines;
}

export const snapshotImage: WorkflowDef<SnapshotImageParams> = {
  name: 'snapshot-image',
  version: 1,
  description: 'A throwaway writable copy of a partition of a disk image (read-only loop, dm linear+zero base, zram COW snapshot, mount)',
  options: [
    { flag: '--image', value: 'FILE', description: 'disk image (never written to)', required: true },
    { flag: '--partition', value: 'N', description: 'partition number', default: 'the largest Linux partition; a whole image without a partition table' },
    { flag: '--size', value: 'SIZE', description: 'size of the snapshot device (a larger partition is not truncated)', default: '5G' },
    { flag: '--cow-size', value: 'SIZE', description: 'size of the zram copy-on-write device', default: '512M' },
    { flag: '--chunk', value: 'SECTORS', description: 'snapshot chunk size in 512-byte sectors (power of two, at least 8)', default: '16' },
    { flag: '--name', value: 'NAME', description: 'snapshot device name; the base is NAME-base', default: 'flow-<id>' },
    { flag: '--mountpoint', value: 'DIR', description: 'where to mount the snapshot', default: '/run/flow/<id>/mnt' },
    { flag: '--no-mount', description: 'create the devices only' },
    { flag: '--no-grow', description: 'do not grow the filesystem to the snapshot size' },
    { flag: '--cow-file', value: 'PATH', description: 'keep the changes in this sparse file of --cow-size bytes (created by the run, removed by its rollback) instead of in RAM; they survive a reboot', default: 'none (a zram device)' },
    { flag: '--reuse-cow', description: 'use the existing --cow-file of an earlier run, with its changes (it is then never removed)' },
  ],
  examples: ['flow run snapshot-image --image raspios.img', 'flow run snapshot-image --image disk.img --partition 2 --size 8G --cow-size 1G --mountpoint /mnt/play'],
  parseParams: (raw) => snapshotImageParams.parse(raw),
  outputs(_p, o) {
    const r: Record<string, string> = {};
    pick(r, 'loop', o, 'attach-image', 'device');
    pick(r, 'base', o, 'create-base', 'device');
    pick(r, 'cow', o, 'add-cow', 'device');
    pick(r, 'device', o, 'create-snapshot', 'device');
    return pick(r, 'mountpoint', o, 'mount', 'target');
  },
  steps(p, id) {
    const total = snapshotSectors(p);
    const steps: StepDef[] = [
      {
        name: 'attach-image',
        kind: 'loop.attach',
        title: `attach ${p.image} read-only`,
        durable: false,
        args: () => ({ file: p.image, identity: p.imageIdentity, readOnly: true, offset: 0, sizeLimit: 0 }),
      },
      {
        name: 'read-partition-table',
        kind: 'partitions.check',
        title: p.partition === null ? 'check the image has no partition table' : `read partition ${p.partition}`,
        durable: false,
        args: () => ({ file: p.image, partition: p.partition, start: p.partStart, sectors: p.partSectors }),
      },
      {
        name: 'create-base',
        kind: 'dm.create',
        title: `create ${p.name}-base (linear${total > p.partSectors ? ' + zero' : ''})`,
        durable: false,
        args: (o) => ({ name: `${p.name}-base`, uuid: dmUuid(id, 'create-base'), table: baseTable(output(o, 'attach-image', 'majmin'), p, total) }),
      },
      { name: 'add-cow', kind: 'zram.add', title: 'add a zram device for the COW', durable: false, args: () => ({ disksize: p.cowSize }) },
      {
        name: 'create-snapshot',
        kind: 'dm.create',
        title: `create ${p.name} (snapshot)`,
        durable: false,
        args: (o) => ({
          name: p.name,
          uuid: dmUuid(id, 'create-snapshot'),
          table: [`0 ${total} snapshot ${output(o, 'create-base', 'majmin')} ${output(o, 'add-cow', 'majmin')} N ${p.chunk}`],
        }),
      },
      ...mountSteps(p, { step: 'create-snapshot' }, []),
    ];
    if (p.mountpoint !== null && p.grow && total > p.partSectors) {
      steps.push({
        name: 'grow-filesystem',
        kind: 'fs.grow',
        title: 'grow the filesystem online',
        durable: false,
        args: (o) => ({ device: output(o, 'create-snapshot', 'node'), target: p.mountpoint }),
      });
    }
    return steps;
  },
};
