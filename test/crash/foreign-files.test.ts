import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../support/scenarios.js';
import { DISTURBANCES, ForeignMatrix, runForeignFiles, type ForeignFigures } from '../../src/verify/foreign-files.js';
import { subjectOf } from './subject.js';

const all: ForeignFigures[] = [];

describe.each(SCENARIOS.map((s) => [s.workflow, s] as const))('foreign files and directories: %s', (_name, sc) => {
  it('planted at every point of file.create / dir.make and their undo where the path is free: never adopted, cleaned or removed', async () => {
    const m = new ForeignMatrix(subjectOf(sc));
    const prep = await m.prepare();
    const { plants } = prep;
    expect(plants.length).toBeGreaterThan(0);
    await runForeignFiles(m, prep);
    all.push(m.figures);
    expect(m.figures.violations.slice(0, 10)).toEqual([]);
    // every step's path is free somewhere before its intent and after its undo
    expect(m.figures.planted).toBeGreaterThanOrEqual(plants.length * DISTURBANCES.length * 2);
  }, 600_000);
});

afterAll(() => {
  const lines = ['', 'foreign files and directories in the crash matrix:'];
  for (const f of all) {
    lines.push(`  ${f.workflow.padEnd(15)} planted ${f.planted} (path taken by the run's own at ${f.notFree} more); outcomes ${Object.entries(f.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}; violations ${f.violations.length}`);
  }
  console.log(lines.join('\n'));
});
