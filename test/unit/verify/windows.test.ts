/**
 * flow verify takes its per-kind crash-point windows from the kinds' specs (src/steps/kinds,
 * `unmarked`), not from lists of its own: where an operator stop is right, and which steps
 * get another program's device planted in their window.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { StepDef } from '../../../machines/types.js';
import { KIND_SPECS } from '../../../src/steps/kinds/index.js';
import { foreignDeviceCases, foreignWindow } from '../../../src/verify/foreign-devices.js';
import { checkStops, operatorWindow } from '../../../src/verify/matrix.js';
import type { OperatorStop } from '../../../src/verify/operator.js';

const loop = KIND_SPECS['loop.attach'];
const saved = loop.unmarked;
afterEach(() => {
  loop.unmarked = saved;
});

const stop = (step: string, kind: string): OperatorStop => {
  const c = { kind: kind === 'zram.add' ? ('zram' as const) : ('loop' as const), device: '/dev/loop7', diskseq: 9 };
  return { step, kind, candidates: [c], removed: [c] };
};
const violations = (s: OperatorStop, point: string) => {
  const v: string[] = [];
  checkStops([s], [`apply:${s.step}:${point}`], 'process', v, 'here');
  return v;
};

describe("verify's windows come from the kind specs", () => {
  it('an operator stop is right only after the points of its kind\'s spec', () => {
    expect(operatorWindow('zram.add')).toEqual(KIND_SPECS['zram.add'].unmarked?.operatorWindow);
    expect(operatorWindow('dm.create')).toEqual([]);
    // zram's command-running fires after its hot_add; a loop's before its bind
    expect(violations(stop('add-cow', 'zram.add'), 'command-running')).toEqual([]);
    expect(violations(stop('attach-file', 'loop.attach'), 'command-running')).toHaveLength(1);
    expect(violations(stop('attach-file', 'loop.attach'), 'command-done')).toEqual([]);
  });

  it('follows the spec when it changes (one source of truth)', () => {
    loop.unmarked = { operatorWindow: ['command-running', 'command-done', 'outcome-appended'] };
    expect(violations(stop('attach-file', 'loop.attach'), 'command-running')).toEqual([]);
    loop.unmarked = undefined;
    expect(violations(stop('attach-file', 'loop.attach'), 'command-done')).toHaveLength(1);
    // a kind without `unmarked` gets no foreign device planted
    expect(foreignWindow('loop.attach')).toEqual([]);
    const defs = [{ name: 'attach-file', kind: 'loop.attach' }, { name: 'add-cow', kind: 'zram.add' }] as StepDef[];
    expect(foreignDeviceCases(defs)).toBe(7 * 4);
  });

  it('a foreign device is a candidate from the intent appended to the outcome appended, for each unmarked kind', () => {
    for (const k of ['loop.attach', 'zram.add']) expect(foreignWindow(k)).toEqual(['intent-appended', 'intent-synced', 'command-running', 'command-done', 'outcome-appended']);
    expect(foreignWindow('mount')).toEqual([]);
  });
});
