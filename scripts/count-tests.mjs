// Fails the test command when no test was executed (vitest exits 0 when everything was
// skipped or filtered out), and prints the plain closing line CI reads.
import { readFileSync } from 'node:fs';

const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const passed = r.numPassedTests ?? 0;
const failed = r.numFailedTests ?? 0;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (passed + failed === 0) {
  console.error('scripts/test: zero tests executed: failing the run');
  process.exit(1);
}
if (skipped > 0) {
  console.error(`scripts/test: ${skipped} tests were skipped: a skipped test is not a passing one`);
  process.exit(1);
}
process.exit(failed > 0 ? 1 : 0);
