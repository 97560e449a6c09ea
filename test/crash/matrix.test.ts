import { afterAll, describe, expect, it } from 'vitest';
import { SYNC_CALLS } from '../../journal/durability.js';
import { CrashMatrix, type Figures } from '../../src/verify/matrix.js';
import { SCENARIOS } from '../support/scenarios.js';
import { subjectOf } from './subject.js';

const all: Figures[] = [];

describe.each(SCENARIOS.map((s) => [s.workflow, s] as const))('crash matrix: %s', (_name, sc) => {
  it('every point of every step and compensation, both crash modes, resume and rollback', async () => {
    const m = new CrashMatrix(subjectOf(sc));
    await m.runAll(await m.prepare());
    all.push(m.figures);
    if (process.env.FLOW_MATRIX_DUMP) (await import('node:fs')).writeFileSync(`${process.env.FLOW_MATRIX_DUMP}.${sc.workflow}`, m.figures.violations.join('\n'));
    const f = m.figures;
    expect(f.violations.slice(0, 10)).toEqual([]);
    expect(f.pointsTried.size).toBe(f.pointsEnumerated);
    expect(f.leaks).toBe(0);
  }, 600_000);
});

const mutants: string[] = [];

describe('fsync mutation score (power-cut tier)', () => {
  it.each(SYNC_CALLS.map((c) => [c]))('disabling the %s sync is caught by the power-cut matrix', async (call) => {
    let caught = 0;
    const found: string[] = [];
    for (const sc of SCENARIOS) {
      const m = new CrashMatrix(subjectOf(sc), new Set([call]));
      await m.runAll(await m.prepare(), undefined, ['power']);
      caught += m.figures.violations.length;
      found.push(...m.figures.violations.slice(0, 1));
    }
    mutants.push(`  mutant "no ${call} sync": ${caught > 0 ? 'caught' : 'NOT caught'} (${caught} violations; e.g. ${found[0]?.slice(0, 160) ?? '-'})`);
    expect(caught).toBeGreaterThan(0);
  }, 600_000);
});

afterAll(() => {
  if (mutants.length) console.log(['', `fsync mutation score: ${mutants.filter((m) => m.includes(': caught')).length}/${SYNC_CALLS.length} mutants caught`, ...mutants].join('\n'));
  const lines = ['', 'crash matrix (in-process, fake kernel):'];
  for (const f of all) {
    lines.push(
      `  ${f.workflow.padEnd(15)} points ${f.pointsEnumerated} enumerated / ${f.pointsTried.size} tried; runs ${f.runs}; ` +
        `outcomes ${Object.entries(f.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}; crashes during recovery ${f.recoveryCrashes}; ` +
        `operator stops ${f.operatorStops}; violations ${f.violations.length}; leaks ${f.leaks}`,
    );
  }
  console.log(lines.join('\n'));
});
