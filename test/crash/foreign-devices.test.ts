import { afterAll, describe, expect, it } from 'vitest';
import { STEP_POINTS } from '../../src/engine/crash-points.js';
import { SCENARIOS } from '../support/scenarios.js';
import { foreignDeviceMatrix, type ForeignFigures } from '../../src/verify/foreign-devices.js';
import { subjectOf } from './subject.js';

const all: ForeignFigures[] = [];

describe.each(SCENARIOS.map((s) => [s.workflow, s] as const))('foreign devices in the window: %s', (_name, sc) => {
  it('a zram device of the same size / a loop on the same file, made at every point of the device steps, is never touched', async () => {
    const f = await foreignDeviceMatrix(subjectOf(sc));
    all.push(f);
    expect(f.violations.slice(0, 10)).toEqual([]);
    expect(f.steps.length).toBeGreaterThan(0);
    // every point of the step (STEP_POINTS) x 2 crash modes x 2 recoveries per device step
    expect(f.runs).toBe(f.steps.length * STEP_POINTS.length * 4);
  }, 300_000);
});

afterAll(() => {
  const lines = ['', 'foreign devices in the window (fake kernel):'];
  for (const f of all) lines.push(`  ${f.workflow.padEnd(15)} steps ${f.steps.join(', ')}; runs ${f.runs}; operator stops ${f.operatorStops}; violations ${f.violations.length}`);
  console.log(lines.join('\n'));
});
