/** One executor per step kind, from the kind's module (src/steps/kinds/<kind>.ts). */
import type { StepKind } from '../../machines/types.js';
import { dirMake } from './kinds/dir-make.js';
import { dmCreate } from './kinds/dm-create.js';
import { fileCreate } from './kinds/file-create.js';
import { fsFreeze } from './kinds/fs-freeze.js';
import { fsGrow } from './kinds/fs-grow.js';
import { fsMkfs } from './kinds/fs-mkfs.js';
import { loopAttach } from './kinds/loop-attach.js';
import { mountStep } from './kinds/mount.js';
import { partitionsCheck } from './kinds/partitions-check.js';
import type { Executor } from './types.js';
import { zramAdd } from './kinds/zram-add.js';

export const executors: Readonly<Record<StepKind, Executor<any>>> = {
  'file.create': fileCreate,
  'fs.mkfs': fsMkfs,
  'loop.attach': loopAttach,
  'partitions.check': partitionsCheck,
  'dm.create': dmCreate,
  'zram.add': zramAdd,
  'dir.make': dirMake,
  mount: mountStep,
  'fs.grow': fsGrow,
  'fs.freeze': fsFreeze,
};
