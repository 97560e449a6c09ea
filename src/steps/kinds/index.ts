/** The step kinds flow knows, each one module (src/steps/kinds/<kind>.ts): their specs by kind. */
import type { StepKind } from '../../../machines/types.js';
import { spec as dirMake } from './dir-make.js';
import { spec as dmCreate } from './dm-create.js';
import { spec as fileCreate } from './file-create.js';
import { spec as fsFreeze } from './fs-freeze.js';
import { spec as fsGrow } from './fs-grow.js';
import { spec as fsMkfs } from './fs-mkfs.js';
import { spec as loopAttach } from './loop-attach.js';
import { spec as mount } from './mount.js';
import { spec as partitionsCheck } from './partitions-check.js';
import { hasInverse, type KindSpec } from './spec.js';
import { spec as zramAdd } from './zram-add.js';

/** In the order the README lists them. */
export const KIND_SPECS: Readonly<Record<StepKind, KindSpec>> = {
  'file.create': fileCreate,
  'fs.mkfs': fsMkfs,
  'loop.attach': loopAttach,
  'partitions.check': partitionsCheck,
  'dm.create': dmCreate,
  'zram.add': zramAdd,
  'dir.make': dirMake,
  mount,
  'fs.grow': fsGrow,
  'fs.freeze': fsFreeze,
};

export const KIND_NAMES = Object.keys(KIND_SPECS) as StepKind[];

/** True when rollback undoes the kind's effect (others are skipped, with their reason). */
export const kindHasInverse = (kind: StepKind): boolean => hasInverse(KIND_SPECS[kind]);

export type { KindSpec };
