import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../scripts/count-tests.mjs', import.meta.url));

function report(r: object): string {
  const f = join(mkdtempSync(join(tmpdir(), 'flow-count-')), 'r.json');
  writeFileSync(f, JSON.stringify(r));
  return f;
}
const run = (r: object) => spawnSync(process.execPath, [script, report(r)], { encoding: 'utf8' });
const ok = { numPassedTests: 3, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 };

describe('the test command guard', () => {
  it.each([
    ['zero tests executed', { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 }, 1, /zero tests executed/],
    ['every test skipped', { numPassedTests: 0, numFailedTests: 0, numPendingTests: 5, numTodoTests: 0 }, 1, /zero tests executed/],
    ['some tests skipped', { numPassedTests: 3, numFailedTests: 0, numPendingTests: 1, numTodoTests: 0 }, 1, /1 tests were skipped/],
    ['a failure', { numPassedTests: 3, numFailedTests: 1, numPendingTests: 0, numTodoTests: 0 }, 1, /^$/],
    ['all passed', { numPassedTests: 3, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 }, 0, /^$/],
  ])('%s → exit %s', (_n, report, code, stderr) => {
    const r = run(report);
    expect(r.status).toBe(code);
    expect(r.stderr).toMatch(stderr);
    expect(r.stdout).toMatch(/^tests: \d+ passed, \d+ failed, \d+ skipped$/m);
  });

  it('sums the tiers and names each', () => {
    const r = spawnSync(process.execPath, [script, `host=${report(ok)}`, `lab=${report({ ...ok, numPassedTests: 4 })}`], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('  host: 3 passed, 0 failed, 0 skipped');
    expect(r.stdout).toContain('  lab: 4 passed, 0 failed, 0 skipped');
    expect(r.stdout).toMatch(/^tests: 7 passed, 0 failed, 0 skipped$/m);
  });

  it('a tier whose report is missing (it died before its end) fails the command', () => {
    const r = spawnSync(process.execPath, [script, `host=${report(ok)}`, 'lab=/nonexistent/lab.json'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('tier lab: no report (/nonexistent/lab.json): the tier did not run to its end');
  });

  it('a test file that failed to load counts as a failure', () => {
    const r = run({ ...ok, testResults: [{ status: 'failed', assertionResults: [] }] });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^tests: 3 passed, 1 failed, 0 skipped$/m);
  });
});
