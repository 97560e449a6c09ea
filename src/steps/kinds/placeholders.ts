/**
 * Outputs of steps that have not run, for `flow plan`: what the kernel picks when the step
 * runs (loop, dm and zram numbers) is a visible placeholder naming the step, never an
 * invented number; what the step's arguments already fix (a dm name, a path) is the value
 * (each kind's spec says which: `placeholders`). Used by `flow plan`, `flow show` and the
 * kinds' preflight (src/preflight/kinds.ts).
 */
import type { Json, StepDef } from '../../../machines/types.js';
import { KIND_SPECS } from './index.js';

/** "<loop device of attach-image>" */
export const placeholder = (what: string, step: string): string => `<${what} of ${step}>`;

/** True when `s` contains a placeholder. */
export const hasPlaceholder = (s: string): boolean => /<[^<>]+ of [^<>]+>/.test(s);

/** The outputs `def` will have once applied with `args`, unknown parts as placeholders. */
export function plannedOutputs(def: StepDef, args: Json): Json {
  return KIND_SPECS[def.kind].placeholders(args, (what) => placeholder(what, def.name));
}
