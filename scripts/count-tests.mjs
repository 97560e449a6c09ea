// Sums vitest JSON reports (one per tier), prints one line per tier and the closing line
// CI reads, and fails the test command when a tier executed no test, when any test was
// skipped (vitest exits 0 when everything was skipped or filtered out), or when any failed.
//   node scripts/count-tests.mjs NAME=report.json [NAME=report.json ...]
import { existsSync, readFileSync } from 'node:fs';

let passed = 0, failed = 0, skipped = 0, bad = false;
for (const arg of process.argv.slice(2)) {
  const [name, file] = arg.includes('=') ? arg.split(/=(.*)/s) : ['tests', arg];
  if (!existsSync(file)) {
    console.error(`scripts/test: tier ${name}: no report (${file}): the tier did not run to its end`);
    bad = true;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  const p = r.numPassedTests ?? 0, f = r.numFailedTests ?? 0, s = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // a file that fails to load (an error thrown at collection) counts no test: count it as a failure
  const broken = (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0).length;
  console.log(`  ${name}: ${p} passed, ${f + broken} failed, ${s} skipped`);
  if (p + f === 0) {
    console.error(`scripts/test: tier ${name}: zero tests executed`);
    bad = true;
  }
  passed += p; failed += f + broken; skipped += s;
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (skipped > 0) console.error(`scripts/test: ${skipped} tests were skipped: a skipped test is not a passing one`);
process.exit(bad || failed > 0 || skipped > 0 ? 1 : 0);
