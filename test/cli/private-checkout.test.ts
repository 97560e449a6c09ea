/**
 * `npm test` from a checkout only root can read (a clone under /root, a `mktemp -d`):
 * the tests that run the CLI as another user (bad-input's uid 65534 cases) must still
 * pass there. This copies the checkout (sources, tests, the built dist/) into a new 0700
 * directory and runs those tests inside it with the same vitest.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const checkout = mkdtempSync(join(tmpdir(), 'flow-private-'));
afterAll(() => rmSync(checkout, { recursive: true, force: true }));

it('the tests that run the CLI as uid 65534 pass from a checkout in a directory only root can read', () => {
  expect(statSync(checkout).mode & 0o777).toBe(0o700);
  for (const p of ['package.json', 'tsconfig.json', 'vitest.config.ts', 'src', 'journal', 'machines', 'test', 'dist']) cpSync(join(ROOT, p), join(checkout, p), { recursive: true });
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(checkout, 'node_modules'));
  const report = join(checkout, 'report.json');
  const r = spawnSync(
    process.execPath,
    [join(checkout, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'cli', 'test/cli/bad-input.test.ts', '-t', 'an image this user cannot read', '--reporter=json', `--outputFile=${report}`],
    { cwd: checkout, env: { ...process.env, CI: '1' }, encoding: 'utf8', timeout: 240_000 },
  );
  const counts = JSON.parse(readFileSync(report, 'utf8')) as { numPassedTests: number; numFailedTests: number; testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[] };
  const failures = counts.testResults.flatMap((f) => f.assertionResults.filter((a) => a.status === 'failed').map((a) => `${a.title}: ${a.failureMessages.join('\n')}`));
  expect(failures.join('\n\n')).toBe('');
  expect(r.status, r.stderr).toBe(0);
  expect(counts.numPassedTests).toBe(4);
}, 300_000);
