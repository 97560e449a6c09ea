import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The test command's driver: scripts/test runs each tier through scripts/test-tier (vitest
// with its JSON reporter, the exit status recorded) and judges them with count-tests.mjs.
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const countTests = join(repo, 'scripts/count-tests.mjs');
const testTier = join(repo, 'scripts/test-tier');
const closing = /^tests: \d+ passed, \d+ failed, \d+ skipped$/m;

const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
function temp(): string {
  const d = mkdtempSync(join(tmpdir(), 'flow-count-'));
  temps.push(d);
  return d;
}

/** A reports directory as scripts/test-tier leaves it: NAME.json and NAME.exit per tier. */
function reports(tiers: Record<string, { report?: object | string; exit?: number | string }>): string {
  const d = temp();
  for (const [name, { report, exit }] of Object.entries(tiers)) {
    if (report !== undefined) writeFileSync(join(d, `${name}.json`), typeof report === 'string' ? report : JSON.stringify(report));
    if (exit !== undefined) writeFileSync(join(d, `${name}.exit`), `${exit}\n`);
  }
  return d;
}
const verdict = (dir: string, ...names: string[]) => spawnSync(process.execPath, [countTests, dir, ...names], { encoding: 'utf8' });
const counts = { numPassedTests: 3, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 };
const ok = { ...counts, success: true, testResults: [] };

describe('the verdict on tier reports (count-tests.mjs)', () => {
  it.each([
    ['zero tests executed', { ...ok, numPassedTests: 0 }, 0, /tier host: zero tests executed/],
    ['every test skipped', { ...ok, numPassedTests: 0, numPendingTests: 5 }, 0, /tier host: zero tests executed/],
    ['some tests skipped', { ...ok, numPendingTests: 1 }, 0, /tier host: 1 skipped or todo test \(a skipped test is not a passing one\)/],
    ['a todo test', { ...ok, numTodoTests: 2 }, 0, /tier host: 2 skipped or todo tests/],
    ['a failed test', { ...ok, numFailedTests: 1, success: false }, 1, /tier host: 1 failed test$/m],
    ['a clean report but vitest exited 1', ok, 1, /tier host: exit status 1, report success: true, with no failed test or file: an unhandled error or rejection/],
    ['a clean exit but the report says success: false', { ...ok, success: false }, 0, /tier host: exit status 0, report success: false, with no failed test or file/],
    ['a failed test the exit status denies', { ...ok, numFailedTests: 1, success: false }, 0, /tier host: exit status 0 and report success: false disagree/],
    ['a missing exit status', ok, undefined, /tier host: no exit status \(.*host\.exit\): its runner did not finish/],
    ['an unreadable report', '{"numPassedTests": 3, "succ', 137, /tier host: unreadable report \(.*host\.json: .*\): the tier did not run to its end \(exit status 137\)/],
    ['a report that is not vitest\'s', { numPassedTests: 3 }, 0, /tier host: .*host\.json is not a vitest JSON report/],
  ])('%s → exit 1', (_n, report, exit, stderr) => {
    const r = verdict(reports({ host: { report, exit } }), 'host');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(stderr);
    expect(r.stdout).toMatch(closing);
  });

  it('all passed → exit 0, nothing on stderr', () => {
    const r = verdict(reports({ host: { report: ok, exit: 0 } }), 'host');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^tests: 3 passed, 0 failed, 0 skipped$/m);
  });

  it('sums the tiers and names each', () => {
    const r = verdict(reports({ host: { report: ok, exit: 0 }, lab: { report: { ...ok, numPassedTests: 4 }, exit: 0 } }), 'host', 'lab');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('  host: 3 passed, 0 failed, 0 skipped');
    expect(r.stdout).toContain('  lab: 4 passed, 0 failed, 0 skipped');
    expect(r.stdout).toMatch(/^tests: 7 passed, 0 failed, 0 skipped$/m);
  });

  it('a tier whose report is missing (it died before its end) fails the command and counts as a failure', () => {
    const dir = reports({ host: { report: ok, exit: 0 }, lab: { exit: 124 } });
    const r = verdict(dir, 'host', 'lab');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`tier lab: no report (${dir}/lab.json): the tier did not run to its end (exit status 124)`);
    expect(r.stdout).toMatch(/^tests: 3 passed, 1 failed, 0 skipped$/m);
  });

  it('a test file that failed with no failed test (load error, suite, hook) counts as a failure', () => {
    const report = { ...ok, success: false, testResults: [{ name: join(repo, 'test/x.test.ts'), status: 'failed', message: 'boom\nstack', assertionResults: [] }] };
    const r = verdict(reports({ host: { report, exit: 1 } }), 'host');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/tier host: failed suite or hook in .*test\/x\.test\.ts: boom$/m);
    expect(r.stdout).toMatch(/^tests: 3 passed, 1 failed, 0 skipped$/m);
  });

  it('no tier, or a tier named twice, fails', () => {
    expect(verdict(temp()).status).toBe(1);
    const r = verdict(reports({ host: { report: ok, exit: 0 } }), 'host', 'host');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('tier host named twice');
  });
});

describe('FLOW_TEST_TIERS (scripts/test)', () => {
  it.each([
    ['bogus', /unknown tier 'bogus'/],
    [' ', /FLOW_TEST_TIERS names no tier/],
    ['host host', /tier host named twice/],
  ])('%j is refused before anything runs', (tiers, stderr) => {
    const r = spawnSync('bash', [join(repo, 'scripts/test')], { encoding: 'utf8', env: { ...process.env, FLOW_TEST_TIERS: tiers } });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(stderr);
  });
});

// Each kind of failure vitest can have, in a throwaway vitest project run through the real
// driver: scripts/test-tier, then count-tests.mjs.
const projectConfig = `export default { cacheDir: '.cache', test: { include: ['*.test.mjs'], pool: 'forks' } };\n`;
function driver(files: Record<string, string>, vitestArgs: string[] = []) {
  const dir = temp();
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'vitest.config.mjs'), projectConfig);
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text); // may replace the config
  const out = join(dir, 'reports');
  mkdirSync(out);
  // the inner vitest must not believe it runs inside this one
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'TEST'));
  // vitest's own binary, not npx: the same run for a second less per project
  const tier = spawnSync(testTier, ['fixture', out, join(dir, 'node_modules/.bin/vitest'), 'run', ...vitestArgs], { cwd: dir, env, encoding: 'utf8' });
  const v = spawnSync(process.execPath, [countTests, out, 'fixture'], { cwd: dir, encoding: 'utf8' });
  return { tier, v };
}
const head = `import { afterAll, beforeAll, describe, expect, it } from 'vitest';\n`;
const pass = `it('passes', () => expect(1).toBe(1));\n`;
// the tier's vitest dies before it writes its report (a timeout, the OOM killer): with
// pool 'forks' this worker's parent is vitest's main process
const killVitest = `import { readFileSync } from 'node:fs';
it('kills its vitest', () => {
  if (!readFileSync('/proc/' + process.ppid + '/cmdline', 'utf8').includes('vitest')) throw new Error('parent is not vitest');
  process.kill(process.ppid, 'SIGKILL');
  process.kill(process.pid, 'SIGKILL');
});\n`;

// vitest's own exit status is in the table: for a skipped or todo test, or a filter that
// matches nothing, it is 0; for an unhandled error the report says success: true.
describe('the test command fails on every kind of vitest failure (scripts/test-tier + count-tests.mjs)', { timeout: 120_000 }, () => {
  it.each([
    ['a failed test', { 'x.test.mjs': head + pass + `it('fails', () => expect(1).toBe(2));\n` }, [], 1, /tier fixture: 1 failed test$/m],
    ['a failed suite (describe body throws)', { 'x.test.mjs': head + pass + `describe('s', () => { throw new Error('describe boom'); });\n` }, [], 1,
      /tier fixture: failed suite or hook in x\.test\.mjs: describe boom$/m],
    ['a failing beforeAll', { 'x.test.mjs': head + `beforeAll(() => { throw new Error('beforeAll boom'); });\n` + pass }, [], 1,
      /tier fixture: failed suite or hook in x\.test\.mjs: beforeAll boom$/m],
    ['a failing afterAll (every test passed)', { 'x.test.mjs': head + pass + `afterAll(() => { throw new Error('afterAll boom'); });\n` }, [], 1,
      /tier fixture: failed suite or hook in x\.test\.mjs: afterAll boom$/m],
    ['a file that does not load', { 'x.test.mjs': head + `import './missing.mjs';\n` + pass }, [], 1,
      /tier fixture: failed suite or hook in x\.test\.mjs: .*missing\.mjs/],
    ['an unhandled error', { 'x.test.mjs': head + `it('throws later', async () => { setTimeout(() => { throw new Error('late boom'); }, 0); await new Promise((r) => setTimeout(r, 50)); });\n` + pass }, [], 1,
      /tier fixture: exit status 1, report success: true, with no failed test or file: an unhandled error or rejection/],
    ['an unhandled rejection', { 'x.test.mjs': head + `it('rejects', async () => { void Promise.reject(new Error('rejected boom')); await new Promise((r) => setTimeout(r, 50)); });\n` + pass }, [], 1,
      /tier fixture: exit status 1, report success: true, with no failed test or file: an unhandled error or rejection/],
    ['zero tests (a filter that matches none)', { 'x.test.mjs': head + pass }, ['-t', 'no such test'], 0, /tier fixture: zero tests executed$/m],
    ['zero test files (a file filter that matches none)', { 'x.test.mjs': head + pass }, ['no-such-file'], 1, /tier fixture: zero tests executed$/m],
    ['a skipped test', { 'x.test.mjs': head + pass + `it.skip('sk', () => expect(1).toBe(1));\n` }, [], 0, /tier fixture: 1 skipped or todo test .*: skipped: sk$/m],
    ['a test skipped at run time', { 'x.test.mjs': head + pass + `it('dyn', (ctx) => ctx.skip());\n` }, [], 0, /tier fixture: 1 skipped or todo test .*: skipped: dyn$/m],
    ['a todo test', { 'x.test.mjs': head + pass + `it.todo('td');\n` }, [], 0, /tier fixture: 1 skipped or todo test .*: todo: td$/m],
    ['a tier that died before its report', { 'x.test.mjs': head + pass + killVitest }, [], 137,
      /tier fixture: no report \(.*fixture\.json\): the tier did not run to its end \(exit status 137\)$/m],
    ['a tier killed after its report', { 'x.test.mjs': head + pass, 'vitest.config.mjs': projectConfig.replace("pool: 'forks'", "pool: 'forks', globalSetup: ['./setup.mjs']"),
      'setup.mjs': `export default () => () => { process.kill(process.pid, 'SIGKILL'); };\n` }, [], 137,
      /tier fixture: exit status 137, report success: true, with no failed test or file/],
  ])('%s', (_n, files, args, vitestExit, stderr) => {
    const { tier, v } = driver(files, args);
    expect(tier.stdout).toMatch(new RegExp(`^== tier fixture: exit ${vitestExit} after \\d+ s$`, 'm'));
    expect(v.stderr).toMatch(stderr);
    expect(v.stdout).toMatch(closing);
    expect(v.stdout).not.toMatch(/^tests: \d+ passed, 0 failed, 0 skipped$/m);
    expect(v.status).toBe(1);
  });

  it('a project whose tests all pass → exit 0 (the fixtures can pass)', () => {
    const { tier, v } = driver({ 'x.test.mjs': head + pass + pass.replace('passes', 'passes too') });
    expect(tier.stdout).toMatch(/^== tier fixture: exit 0 after \d+ s$/m);
    expect(v.stderr).toBe('');
    expect(v.stdout).toMatch(/^tests: 2 passed, 0 failed, 0 skipped$/m);
    expect(v.status).toBe(0);
  });
});
