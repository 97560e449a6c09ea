/**
 * The named points where a crash changes what recovery must do, enumerated from a run's
 * step definitions (a new step gets its points for free):
 *   before-intent · intent-appended (in the log, not synced) · intent-synced ·
 *   command-running · command-done · outcome-appended · outcome-synced
 * for every step (`apply:<step>:…`) and every compensation (`undo:<step>:…`).
 */
import type { StepDef } from '../../machines/types.js';
import { kindHasInverse } from '../steps/kinds/index.js';

export const STEP_POINTS = [
  'before-intent',
  'intent-appended',
  'intent-synced',
  'command-running',
  'command-done',
  'outcome-appended',
  'outcome-synced',
] as const;

/** Points of the forward run, in the order a run reaches them. */
export function applyPoints(defs: readonly StepDef[]): string[] {
  return defs.flatMap((d) => STEP_POINTS.map((p) => `apply:${d.name}:${p}`));
}

/** Points of a rollback of a finished run, in the order it reaches them. */
export function undoPoints(defs: readonly StepDef[]): string[] {
  return [...defs].reverse().filter((d) => kindHasInverse(d.kind)).flatMap((d) => STEP_POINTS.map((p) => `undo:${d.name}:${p}`));
}
