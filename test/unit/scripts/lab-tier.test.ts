import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The lab tier's driver (scripts/lab.d/tier.sh): two kernel-lab VMs side by side, their
// vitest reports merged into the one scripts/count-tests.mjs judges. Here `lab run` is a
// stand-in that runs the command on the host (FLOW_LAB_TIER_LAB), and the "vitest" a script
// that writes the report each VM is told to write (or does not), and exits as told.
const repo = fileURLToPath(new URL('../../../', import.meta.url));
const tier = join(repo, 'scripts/lab.d/tier.sh');
const countTests = join(repo, 'scripts/count-tests.mjs');
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const report = (passed: number, failed: number, success: boolean, file: string) => ({
  numTotalTests: passed + failed,
  numPassedTests: passed,
  numFailedTests: failed,
  numPendingTests: 0,
  numTodoTests: 0,
  startTime: 1,
  success,
  testResults: [{ name: file, status: failed ? 'failed' : 'passed', assertionResults: [] }],
});

/** Runs the driver; `behave` says, per VM (by the file selection it got), what its vitest does. */
function drive(behave: Record<'sigkill' | 'rest', { exit: number; report?: object }>) {
  const d = mkdtempSync(join(tmpdir(), 'flow-labtier-'));
  temps.push(d);
  const fakeLab = join(d, 'lab');
  // `lab run [options] -- CMD...`: the options dropped, CMD run here
  writeFileSync(fakeLab, '#!/usr/bin/env bash\nshift\nwhile [ "$1" != -- ]; do shift; done\nshift\nexec "$@"\n');
  const fakeVitest = join(d, 'vitest');
  writeFileSync(fakeVitest, `#!/usr/bin/env node
const a = process.argv.slice(2);
const which = a.some((x) => x.startsWith('--exclude')) ? 'rest' : 'sigkill';
const out = a.find((x) => x.startsWith('--outputFile.json=')).slice('--outputFile.json='.length);
const b = JSON.parse(process.env.BEHAVE)[which];
if (b.report) require('fs').writeFileSync(out, JSON.stringify(b.report));
console.log('ran ' + which);
process.exit(b.exit);
`);
  chmodSync(fakeLab, 0o755);
  chmodSync(fakeVitest, 0o755);
  const out = join(d, 'lab.json');
  const r = spawnSync('bash', [tier, d, '--', fakeVitest, 'run', '--project', 'lab', '--reporter=json', `--outputFile.json=${out}`], {
    encoding: 'utf8',
    env: { ...process.env, FLOW_LAB_TIER_LAB: fakeLab, BEHAVE: JSON.stringify(behave) },
  });
  writeFileSync(join(d, 'lab.exit'), `${r.status}\n`);
  const verdict = spawnSync(process.execPath, [countTests, d, 'lab'], { encoding: 'utf8' });
  return { r, out, merged: existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : undefined, verdict };
}

describe('the lab tier as two VMs (scripts/lab.d/tier.sh)', () => {
  it('runs both, each line named by its VM; one report with the counts added up; exit 0 and the tier passes', () => {
    const { r, merged, verdict } = drive({ sigkill: { exit: 0, report: report(3, 0, true, 'sigkill') }, rest: { exit: 0, report: report(5, 0, true, 'rest') } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('[lab sigkill] ran sigkill');
    expect(r.stdout).toContain('[lab rest] ran rest');
    expect(merged.numPassedTests).toBe(8);
    expect(merged.success).toBe(true);
    expect(merged.testResults.map((t: { name: string }) => t.name).sort()).toEqual(['rest', 'sigkill']);
    expect(verdict.status, verdict.stdout + verdict.stderr).toBe(0);
  });

  it('a failing VM fails the tier: its exit status, success false, its failures counted', () => {
    const { r, merged, verdict } = drive({ sigkill: { exit: 1, report: report(2, 1, false, 'sigkill') }, rest: { exit: 0, report: report(5, 0, true, 'rest') } });
    expect(r.status).toBe(1);
    expect(merged.success).toBe(false);
    expect(merged.numFailedTests).toBe(1);
    expect(verdict.status).toBe(1);
  });

  it('a VM that leaves no report (killed by its timeout: exit 124) leaves no merged report: the tier did not run to its end', () => {
    const { r, merged, verdict } = drive({ sigkill: { exit: 0, report: report(3, 0, true, 'sigkill') }, rest: { exit: 124 } });
    expect(r.status).toBe(124);
    expect(r.stderr).toContain('no report from VM rest');
    expect(merged).toBeUndefined();
    expect(verdict.status).toBe(1);
    expect(verdict.stdout + verdict.stderr).toMatch(/no report/);
  });

  it('a VM that exits 0 without a report still fails the tier', () => {
    const { r, merged, verdict } = drive({ sigkill: { exit: 0 }, rest: { exit: 0, report: report(5, 0, true, 'rest') } });
    expect(r.status).not.toBe(0);
    expect(merged).toBeUndefined();
    expect(verdict.status).toBe(1);
  });
});
