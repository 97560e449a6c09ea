import { afterAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../support/scenarios.js';
import { CrashMatrix, type Figures, type Mode, type Recovery } from './matrix.js';

const MODES: Mode[] = ['process', 'power'];
const RECOVERIES: Recovery[] = ['resume', 'rollback'];
const all: Figures[] = [];

describe.each(SCENARIOS.map((s) => [s.workflow, s] as const))('crash matrix: %s', (_name, sc) => {
  it('every point of every step and compensation, both crash modes, resume and rollback', async () => {
    const m = new CrashMatrix(sc);
    const { forward, undo } = await m.prepare();
    let rotation = 0;
    for (const p of forward) for (const mode of MODES) for (const how of RECOVERIES) await m.forward(p, mode, how, rotation++);
    for (const p of undo) for (const mode of MODES) await m.undo(p, mode, rotation++);
    all.push(m.figures);
    if (process.env.FLOW_MATRIX_DUMP) (await import('node:fs')).writeFileSync(`${process.env.FLOW_MATRIX_DUMP}.${sc.workflow}`, m.figures.violations.join('\n'));
    const f = m.figures;
    expect(f.violations.slice(0, 10)).toEqual([]);
    expect(f.pointsTried.size).toBe(f.pointsEnumerated);
    expect(f.leaks).toBe(0);
  }, 600_000);
});

afterAll(() => {
  const lines = ['', 'crash matrix (in-process, fake kernel):'];
  for (const f of all) {
    lines.push(
      `  ${f.workflow.padEnd(15)} points ${f.pointsEnumerated} enumerated / ${f.pointsTried.size} tried; runs ${f.runs}; ` +
        `outcomes ${Object.entries(f.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}; crashes during recovery ${f.recoveryCrashes}; ` +
        `violations ${f.violations.length}; leaks ${f.leaks}`,
    );
  }
  console.log(lines.join('\n'));
});
