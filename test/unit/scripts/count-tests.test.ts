import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../../../scripts/count-tests.mjs', import.meta.url));

function run(report: object) {
  const f = join(mkdtempSync(join(tmpdir(), 'flow-count-')), 'r.json');
  writeFileSync(f, JSON.stringify(report));
  return spawnSync(process.execPath, [script, f], { encoding: 'utf8' });
}

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
});
