/**
 * delayed-device: a slow disk for testing. file (created and formatted when missing) →
 * loop → dm delay → mount (-o sync unless --no-sync).
 */
import { z } from '../src/zod.js';
import { createdIdentity, dmUuid, mountSteps, output, pick, type StepDef, fileIdentitySchema, lazySchema, type WorkflowDef } from './types.js';

const delayedDeviceParamsSchema = lazySchema(() =>
  z.object({
    file: z.string(),
    /** flow creates (and formats) the file; rollback removes it */
    createFile: z.boolean(),
    /** identity of an existing file (null when flow creates it) */
    fileIdentity: fileIdentitySchema().nullable(),
    size: z.number().int().positive(),
    readDelay: z.number().int().nonnegative(),
    writeDelay: z.number().int().nonnegative(),
    name: z.string(),
    fsUuid: z.string(),
    mountpoint: z.string().nullable(),
    mountDirs: z.array(z.string()),
    sync: z.boolean(),
  }),
);
/** Parses a run's recorded params (its schema built at the first parse). */
export const delayedDeviceParams = { parse: (raw: unknown) => delayedDeviceParamsSchema().parse(raw) };
export type DelayedDeviceParams = z.infer<ReturnType<typeof delayedDeviceParamsSchema>>;

/** `delay` table: 3 arguments when reads and writes share a delay, 6 otherwise. */
export function delayTable(loop: string, sectors: number, readMs: number, writeMs: number): string[] {
  const args = readMs === writeMs ? `${loop} 0 ${readMs}` : `${loop} 0 ${readMs} ${loop} 0 ${writeMs}`;
  return [`0 ${sectors} delay ${args}`];
}

export const delayedDevice: WorkflowDef<DelayedDeviceParams> = {
  name: 'delayed-device',
  version: 1,
  description: 'A slow disk for testing: a file behind a dm delay target, mounted -o sync',
  options: [
    { flag: '--file', value: 'PATH', description: 'backing file; created (and formatted ext4) when missing, then removed on rollback; an existing file is used as is and never removed', required: true },
    { flag: '--size', value: 'SIZE', description: 'size of a file flow creates', default: '1G' },
    { flag: '--delay', value: 'MS', description: 'delay of reads and writes in milliseconds', default: '100' },
    { flag: '--read-delay', value: 'MS', description: 'delay of reads (overrides --delay)' },
    { flag: '--write-delay', value: 'MS', description: 'delay of writes (overrides --delay)' },
    { flag: '--name', value: 'NAME', description: 'delay device name', default: 'flow-<id>' },
    { flag: '--mountpoint', value: 'DIR', description: 'where to mount it', default: '/run/flow/<id>/mnt' },
    { flag: '--no-mount', description: 'create the device only' },
    { flag: '--no-sync', description: 'mount without -o sync' },
  ],
  examples: ['flow run delayed-device --file /var/tmp/slow.img --size 256M --delay 100', 'flow run delayed-device --file /var/tmp/slow.img --read-delay 0 --write-delay 500 --no-sync'],
  parseParams: (raw) => delayedDeviceParams.parse(raw),
  outputs(p, o) {
    const r: Record<string, string> = { file: p.file };
    pick(r, 'loop', o, 'attach-file', 'device');
    pick(r, 'device', o, 'create-delay', 'device');
    return pick(r, 'mountpoint', o, 'mount', 'target');
  },
  steps(p, id) {
    const sectors = Math.floor(p.size / 512);
    const steps: StepDef[] = [];
    if (p.createFile) {
      steps.push(
        { name: 'create-file', kind: 'file.create', title: `create ${p.file}`, durable: true, args: () => ({ path: p.file, size: p.size }) },
        { name: 'make-filesystem', kind: 'fs.mkfs', title: 'make an ext4 filesystem (4 KiB blocks)', durable: true, args: () => ({ target: p.file, uuid: p.fsUuid, blockSize: 4096 }) },
      );
    }
    steps.push(
      {
        name: 'attach-file',
        kind: 'loop.attach',
        title: `attach ${p.file}`,
        durable: false,
        args: (o) => ({
          file: p.file,
          identity: p.createFile ? createdIdentity(o, 'create-file') : p.fileIdentity,
          readOnly: false,
          offset: 0,
          sizeLimit: 0,
        }),
      },
      {
        name: 'create-delay',
        kind: 'dm.create',
        title: `create ${p.name} (delay ${p.readDelay}/${p.writeDelay} ms)`,
        durable: false,
        args: (o) => ({ name: p.name, uuid: dmUuid(id, 'create-delay'), table: delayTable(output(o, 'attach-file', 'majmin'), sectors, p.readDelay, p.writeDelay) }),
      },
      ...mountSteps(p, { step: 'create-delay' }, p.sync ? ['sync'] : []),
    );
    return steps;
  },
};
