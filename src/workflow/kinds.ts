/**
 * What a workflow file may say about each step kind: its `with:` arguments and their types,
 * its outputs (what `steps.NAME.X` may refer to) and whether its effect is durable. The
 * executors are in src/steps/; this is the part workflow files and `flow check` need.
 * (Issue 9, section 1 moves these facts into one spec module per kind.)
 */
import type { StepKind } from '../../machines/types.js';
import { T, type Ty } from './evaluate.js';

export interface ArgSpec {
  ty: Ty;
  /** may be left out */
  optional?: boolean;
}

export interface KindInfo {
  /** the effect survives a reboot (files); volatile effects (loop, dm, zram, mount) do not */
  durable: boolean;
  args: Record<string, ArgSpec>;
  /** arguments flow adds itself (never written in a file): dm.create's ownership UUID */
  added?: string[];
  outputs: Record<string, Ty>;
}

const identity = T.record({ dev: T.string, ino: T.int });
const dev = { device: T.string, node: T.string, majmin: T.string };

export const KINDS: Readonly<Record<StepKind, KindInfo>> = {
  'file.create': { durable: true, args: { path: { ty: T.string }, size: { ty: T.int } }, outputs: { path: T.string, dev: T.string, ino: T.int } },
  // type: ext4 (default) or vfat; blockSize: ext4 only (default 4096); outputs.uuid as blkid shows it (vfat: XXXX-XXXX)
  'fs.mkfs': {
    durable: true,
    args: { target: { ty: T.string }, uuid: { ty: T.string }, type: { ty: T.string, optional: true }, blockSize: { ty: T.int, optional: true } },
    outputs: { uuid: T.string },
  },
  // readOnly default false; offset and sizeLimit in bytes, default 0 (0 = to the end)
  'loop.attach': {
    durable: false,
    args: { file: { ty: T.string }, identity: { ty: identity }, readOnly: { ty: T.bool, optional: true }, offset: { ty: T.int, optional: true }, sizeLimit: { ty: T.int, optional: true } },
    outputs: { ...dev, readOnly: T.bool },
  },
  'partitions.check': {
    durable: false,
    args: { file: { ty: T.string }, partition: { ty: T.opt(T.int) }, start: { ty: T.int }, sectors: { ty: T.int } },
    outputs: { start: T.int, sectors: T.int },
  },
  'dm.create': { durable: false, args: { name: { ty: T.string }, table: { ty: T.list(T.string) } }, added: ['uuid'], outputs: { name: T.string, ...dev } },
  'zram.add': { durable: false, args: { disksize: { ty: T.int }, algorithm: { ty: T.string, optional: true } }, outputs: { id: T.int, ...dev } },
  'dir.make': { durable: true, args: { dirs: { ty: T.list(T.string) } }, outputs: { dirs: T.list(T.string) } },
  // a device (source + majmin) or, with bind: true, a directory (source); readOnly adds ro
  mount: {
    durable: false,
    args: {
      source: { ty: T.string },
      majmin: { ty: T.string, optional: true },
      target: { ty: T.string },
      options: { ty: T.list(T.string), optional: true },
      readOnly: { ty: T.bool, optional: true },
      bind: { ty: T.bool, optional: true },
    },
    outputs: { target: T.string },
  },
  'fs.grow': { durable: false, args: { device: { ty: T.string }, target: { ty: T.string } }, outputs: {} },
};

export const KIND_NAMES = Object.keys(KINDS) as StepKind[];

/** The ownership marker of a dm device (as machines/types.ts dmUuid). */
export const dmUuid = (runId: string, step: string) => `FLOW-${runId}-${step}`;
