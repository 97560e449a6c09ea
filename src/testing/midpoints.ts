/**
 * The midpoint of a dm create (the device's name held, its table not loaded yet), where a
 * crash test stops flow: the "command running" point of the step.
 */
import type { PointHook } from '../kernel/fake/context.js';
import { onCommandStarted } from '../kernel/exec.js';

/** The fake kernel's hook, narrowed to the half-created dm device (name held, no table yet). */
export function dmMidpoint(fn: (() => void) | undefined): PointHook | undefined {
  return fn ? (_p, info) => (info.op === 'dm.create' && info.stage === 'created' ? fn() : undefined) : undefined;
}

/** The real kernel's "command running" point of a dm create: right after `dmsetup create` started. */
let stopDmMidpoint: (() => void) | undefined;
export function realDmMidpoint(fn: (() => void) | undefined): void {
  stopDmMidpoint?.();
  stopDmMidpoint = fn ? onCommandStarted((c) => (c.argv[0] === 'dmsetup' && c.argv[1] === 'create' ? fn() : undefined)) : undefined;
}
