/** loop-mount: attach an image file that holds a filesystem and mount it. */
import { z } from '../src/zod.js';
import { mountSteps, pick, fileIdentitySchema, lazySchema, type WorkflowDef } from './types.js';

const loopMountParamsSchema = lazySchema(() =>
  z.object({
    file: z.string(),
    fileIdentity: fileIdentitySchema(),
    readOnly: z.boolean(),
    mountpoint: z.string(),
    mountDirs: z.array(z.string()),
  }),
);
/** Parses a run's recorded params (its schema built at the first parse). */
export const loopMountParams = { parse: (raw: unknown) => loopMountParamsSchema().parse(raw) };
export type LoopMountParams = z.infer<ReturnType<typeof loopMountParamsSchema>>;

export const loopMount: WorkflowDef<LoopMountParams> = {
  name: 'loop-mount',
  version: 1,
  description: 'Attach an image file holding a filesystem and mount it',
  options: [
    { flag: '--file', value: 'PATH', description: 'image file with a filesystem', required: true },
    { flag: '--mountpoint', value: 'DIR', description: 'where to mount it', default: '/run/flow/<id>/mnt' },
    { flag: '--read-only', description: 'attach and mount read-only' },
  ],
  examples: ['flow run loop-mount --file rootfs.ext4', 'flow run loop-mount --file rootfs.ext4 --read-only --mountpoint /mnt/rootfs'],
  parseParams: (raw) => loopMountParams.parse(raw),
  outputs(_p, o) {
    const r: Record<string, string> = {};
    pick(r, 'loop', o, 'attach-file', 'device');
    return pick(r, 'mountpoint', o, 'mount', 'target');
  },
  steps: (p) => [
    {
      name: 'attach-file',
      kind: 'loop.attach',
      title: `attach ${p.file}${p.readOnly ? ' read-only' : ''}`,
      durable: false,
      args: () => ({ file: p.file, identity: p.fileIdentity, readOnly: p.readOnly, offset: 0, sizeLimit: 0 }),
    },
    ...mountSteps(p, { step: 'attach-file' }, p.readOnly ? ['ro'] : []),
  ],
};
