// The verdict of the test command (scripts/test): for each tier that scripts/test-tier ran,
// reads its vitest JSON report (REPORTS/NAME.json) and exit status (REPORTS/NAME.exit),
// prints one line per tier and the closing line CI reads, and exits 1 unless every tier
// passed. A tier passes only when all three agree: vitest exited 0, its report says
// `success: true`, and its counts show tests executed, none failed, none skipped or todo.
// Each alone misses something: an unhandled error or rejection leaves `success: true` and
// every count green, only the exit status shows it; a failing hook or suite fails the
// file, not a test; a skipped test exits 0.
// "failed" in the closing line counts failed tests, failed files (suite, hook, load)
// and tier-level failures (an unhandled error, zero tests executed, a tier that did not
// run to its end).
//   node scripts/count-tests.mjs REPORTS NAME [NAME ...]
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [dir, ...names] = process.argv.slice(2);
if (!dir || names.length === 0) {
  console.error('usage: node scripts/count-tests.mjs REPORTS NAME [NAME ...]');
  console.error('scripts/test: no tier ran');
  process.exit(1);
}

/** @returns {{ passed: number, failed: number, skipped: number, problems: string[] }} */
function judge(name) {
  const problems = [];
  const exitFile = join(dir, `${name}.exit`), reportFile = join(dir, `${name}.json`);
  const exitText = existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : undefined;
  const exit = exitText !== undefined && /^\d+$/.test(exitText) ? Number(exitText) : undefined;
  const exited = exit === undefined ? 'no exit status recorded' : `exit status ${exit}`;
  let tierFailures = 0;
  if (exit === undefined) {
    tierFailures++;
    problems.push(`no exit status (${exitFile}): its runner did not finish`);
  }

  if (!existsSync(reportFile)) {
    problems.push(`no report (${reportFile}): the tier did not run to its end (${exited})`);
    return { passed: 0, failed: tierFailures + 1, skipped: 0, problems };
  }
  let r;
  try {
    r = JSON.parse(readFileSync(reportFile, 'utf8'));
  } catch (e) {
    problems.push(`unreadable report (${reportFile}: ${e.message}): the tier did not run to its end (${exited})`);
    return { passed: 0, failed: tierFailures + 1, skipped: 0, problems };
  }
  const counts = ['numPassedTests', 'numFailedTests', 'numPendingTests', 'numTodoTests'];
  if (typeof r !== 'object' || r === null || typeof r.success !== 'boolean' || !counts.every((k) => Number.isInteger(r[k])) || !Array.isArray(r.testResults)) {
    problems.push(`${reportFile} is not a vitest JSON report (${exited})`);
    return { passed: 0, failed: tierFailures + 1, skipped: 0, problems };
  }

  const passed = r.numPassedTests, failedTests = r.numFailedTests;
  const skipped = r.numPendingTests + r.numTodoTests;
  let failed = failedTests + tierFailures;
  if (failedTests > 0) problems.push(`${failedTests} failed test${failedTests === 1 ? '' : 's'}`);
  // a file can fail with no failed test: its describe body, a beforeAll/afterAll hook or its
  // import threw, or it holds no test at all
  for (const t of r.testResults) {
    const own = (t.assertionResults ?? []).filter((a) => a.status === 'failed').length;
    if (t.status === 'failed' && own === 0) {
      failed++;
      const why = (t.message ?? '').split('\n')[0] || 'no message';
      problems.push(`failed suite or hook in ${relative(process.cwd(), t.name ?? '?')}: ${why}`);
    }
  }
  if (passed + failedTests === 0) {
    failed++;
    problems.push('zero tests executed');
  }
  if (skipped > 0) {
    const titles = r.testResults.flatMap((t) => (t.assertionResults ?? [])
      .filter((a) => a.status === 'skipped' || a.status === 'pending' || a.status === 'todo')
      .map((a) => `${a.status}: ${a.fullName ?? a.title}`));
    const shown = titles.slice(0, 5).join('; ') + (titles.length > 5 ? `; and ${titles.length - 5} more` : '');
    problems.push(`${skipped} skipped or todo test${skipped === 1 ? '' : 's'} (a skipped test is not a passing one)${shown ? `: ${shown}` : ''}`);
  }
  // vitest saw a failure the counts do not show: an unhandled error or rejection (its
  // report then still says success: true), or a failure outside any test
  if ((exit !== undefined && exit !== 0) || !r.success) {
    if (failed === 0) {
      failed++;
      problems.push(`${exited}, report success: ${r.success}, with no failed test or file: an unhandled error or rejection, or a failure outside any test (see vitest's "Unhandled Errors" above)`);
    } else if (exit === 0 || r.success) {
      problems.push(`${exited} and report success: ${r.success} disagree with the failures counted`);
    }
  }
  return { passed, failed, skipped, problems };
}

let passed = 0, failed = 0, skipped = 0, bad = false;
const seen = new Set();
for (const name of names) {
  if (seen.has(name)) {
    console.error(`scripts/test: tier ${name} named twice`);
    bad = true;
    continue;
  }
  seen.add(name);
  const v = judge(name);
  console.log(`  ${name}: ${v.passed} passed, ${v.failed} failed, ${v.skipped} skipped`);
  for (const p of v.problems) console.error(`scripts/test: tier ${name}: ${p}`);
  if (v.problems.length > 0) bad = true;
  passed += v.passed; failed += v.failed; skipped += v.skipped;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(bad ? 1 : 0);
