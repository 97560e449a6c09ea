/** One executor per step kind. */
import type { StepKind } from '../../machines/types.js';
import { dirMake } from './dir-make.js';
import { dmCreate } from './dm-create.js';
import { fileCreate } from './file-create.js';
import { loopAttach } from './loop-attach.js';
import { mountStep } from './mount.js';
import { fsGrow, fsMkfs, partitionsCheck } from './simple.js';
import type { Executor } from './types.js';
import { zramAdd } from './zram-add.js';

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
};

/** Kinds that signal their own "command running" midpoint (others: right before the command). */
export const SIGNALS_MIDPOINT: ReadonlySet<StepKind> = new Set(['dm.create', 'zram.add', 'dir.make', 'file.create']);
