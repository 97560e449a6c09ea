/**
 * Outputs of steps that have not run, for `flow plan`: what the kernel picks when the step
 * runs (loop, dm and zram numbers) is a visible placeholder naming the step, never an
 * invented number; what the step's arguments already fix (a dm name, a path) is the value.
 */
import type { Json, StepDef } from '../../../machines/types.js';

/** "<loop device of attach-image>" */
export const placeholder = (what: string, step: string): string => `<${what} of ${step}>`;

/** True when `s` contains a placeholder. */
export const hasPlaceholder = (s: string): boolean => /<[^<>]+ of [^<>]+>/.test(s);

/** The outputs `def` will have once applied with `args`, unknown parts as placeholders. */
export function placeholderOutputs(def: StepDef, args: Json): Json {
  const p = (what: string) => placeholder(what, def.name);
  switch (def.kind) {
    case 'loop.attach':
      return { device: p('loop device'), node: p('loop device'), majmin: p('loop major:minor'), readOnly: args.readOnly };
    case 'dm.create':
      return { name: args.name, device: `/dev/mapper/${String(args.name)}`, node: p('dm node'), majmin: p('dm major:minor') };
    case 'zram.add':
      return { id: p('id'), device: p('zram device'), node: p('zram device'), majmin: p('zram major:minor') };
    case 'file.create':
      return { path: args.path, dev: p('filesystem device'), ino: p('inode') };
    case 'mount':
      return { target: args.target };
    case 'dir.make':
      return { dirs: args.dirs };
    case 'fs.mkfs':
      return { uuid: args.uuid };
    case 'partitions.check':
      return { start: args.start, sectors: args.sectors };
    case 'fs.grow':
      return {};
  }
}
