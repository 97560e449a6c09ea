/** fs.grow: online resize2fs (idempotent, forward only: its probe is "do it again"). */
import { line, type Executor } from '../types.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({ device: z.string().describe('the device under the filesystem'), target: z.string().describe('where it is mounted') }),
  outputs: z.strictObject({}),
}));

export type GrowArgs = z.infer<ReturnType<typeof schemas>['args']>;

/** fs.grow: online resize2fs; running it again prints "Nothing to do". */
export const fsGrow: Executor<GrowArgs> = {
  async apply(a, _m, env) {
    await env.kernel.filesystems.grow(a.device);
    return {};
  },
  probe: async () => ({ found: 'absent', detail: 'idempotent: run again' }),
  clean: async () => undefined,
  undo: async () => undefined,
  commands: (a) => ({ apply: [line('resize2fs', '--', a.device)], undo: [] }),
};

export const spec: KindSpec = defineKind({
  kind: 'fs.grow',
  summary: 'grows a mounted ext2/3/4 filesystem to its device online (resize2fs)',
  durable: false,
  schemas,
  inverse: { none: 'not undone: the device under the filesystem goes away on rollback', skip: 'forward only; goes with the snapshot' },
  midpoint: 'before',
  placeholders: () => ({}),
});
