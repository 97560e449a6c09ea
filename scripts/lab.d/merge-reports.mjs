// Merges the vitest JSON reports of the lab tier's VMs (scripts/lab.d/tier.sh) into one:
// every count added up, the files' results side by side, `success` only when every report
// says so. A report that is missing or not a vitest report fails the merge (exit 1, OUT not
// written), so the tier is judged as one that did not run to its end.
//   node scripts/lab.d/merge-reports.mjs OUT DIR [DIR ...]   (each DIR holds report.json)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [out, ...dirs] = process.argv.slice(2);
if (!out || dirs.length === 0) {
  console.error('usage: node scripts/lab.d/merge-reports.mjs OUT DIR [DIR ...]');
  process.exit(2);
}
const reports = [];
for (const d of dirs) {
  const f = join(d, 'report.json');
  try {
    const r = JSON.parse(readFileSync(f, 'utf8'));
    if (typeof r !== 'object' || r === null || typeof r.success !== 'boolean' || !Array.isArray(r.testResults)) throw new Error('not a vitest JSON report');
    reports.push(r);
  } catch (e) {
    console.error(`merge-reports: ${f}: ${e.message}`);
    process.exit(1);
  }
}
const merged = { ...reports[0], testResults: [], success: reports.every((r) => r.success) };
for (const k of Object.keys(reports[0])) {
  if (k.startsWith('num')) merged[k] = reports.reduce((n, r) => n + (Number.isInteger(r[k]) ? r[k] : NaN), 0);
}
merged.startTime = Math.min(...reports.map((r) => r.startTime ?? Infinity));
for (const r of reports) merged.testResults.push(...r.testResults);
writeFileSync(out, JSON.stringify(merged));
