/**
 * `flow verify`'s work: build the subject, run the matrices (src/verify), print the
 * figures, and throw VerifyFailedError (exit 5) when recovery was not exact somewhere.
 * A progress line on stderr when it is a terminal.
 */
import type { OptionSpec } from '../../../machines/types.js';
import type { LoadedWorkflow } from '../../workflow/source.js';
import { VerifyFailedError } from '../../errors.js';
import { exitCodeOf, messageOf } from '../exit.js';
import type { RawOptions } from '../../preflight/types.js';
import { loadedSubject } from '../../verify/builtin.js';
import { exportTempSubject } from '../../verify/export-temp.js';
import type { Subject } from '../../verify/subject.js';
import { passed, verifyWorkflow, type Progress, type VerifyReport } from '../../verify/verify.js';

export interface VerifyIO {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown; isTTY?: boolean };
}

/** findings printed in the text form (--json has them all) */
const SHOWN = 20;

/**
 * `flow verify NAME|FILE`: the workflow as `flow run` loads it (a file, /etc, a built-in). This chunk carries its own copy of the errors module (it is built on
 * its own), so its errors are mapped to messages and exit codes here, not by program.ts.
 */
export async function verifyLoaded(loaded: LoadedWorkflow, options: readonly OptionSpec[], raw: RawOptions, json: boolean): Promise<number> {
  try {
    return await verifyCommand(loadedSubject(loaded, options, raw, process.cwd()), json);
  } catch (err) {
    process.stderr.write(messageOf(err) + '\n');
    return exitCodeOf(err);
  }
}

/** `flow verify export-temp`: flow export's internal workflow in its built-in world (src/verify/export-temp.ts). */
export async function verifyExportTemp(json: boolean): Promise<number> {
  try {
    return await verifyCommand(exportTempSubject(), json);
  } catch (err) {
    process.stderr.write(messageOf(err) + '\n');
    return exitCodeOf(err);
  }
}

/** Verifies `sub`; returns 0, or throws VerifyFailedError once the figures are printed. */
export async function verifyCommand(sub: Subject, json: boolean, io: VerifyIO = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const line = io.stderr.isTTY ? progressLine(sub.workflow, io.stderr) : undefined;
  let report: VerifyReport;
  try {
    report = await verifyWorkflow(sub, line?.update);
  } finally {
    line?.clear();
  }
  io.stdout.write(json ? JSON.stringify(reportJson(report)) + '\n' : reportText(report));
  if (!passed(report)) throw new VerifyFailedError(report.workflow, report.violations.length, report.leaks);
  return 0;
}

/** One line, redrawn at most every 100 ms: "flow verify NAME: 120/514 cases, 0 violations". */
function progressLine(name: string, err: VerifyIO['stderr']): { update: (p: Progress) => void; clear: () => void } {
  let last = 0;
  let drawn = false;
  return {
    update: (p) => {
      const now = Date.now();
      if (now - last < 100 && p.done < p.total) return;
      last = now;
      drawn = true;
      err.write(`\r\x1b[2Kflow verify ${name}: ${p.done}/${p.total} cases, ${p.violations} violation${p.violations === 1 ? '' : 's'}`);
    },
    clear: () => void (drawn && err.write('\r\x1b[2K')),
  };
}

export function reportJson(r: VerifyReport): Record<string, unknown> {
  return { ...r, ok: passed(r), violations: r.violations.length, findings: r.violations };
}

export function reportText(r: VerifyReport): string {
  const s = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const lines = [
    `flow verify ${r.workflow}: ${s(r.steps, 'step')}, in memory (fake kernel, simulated host; nothing on this host changed)`,
    `  crash points     ${r.points.enumerated} enumerated / ${r.points.tried} tried`,
    `  runs             ${r.runs} (crash, then resume or rollback; ${r.recoveryCrashes} crashed again during recovery)`,
    `  recoveries       resumed ${r.resumed}, rolled back ${r.rolledBack}, already clean ${r.alreadyClean}`,
    `  operator stops   ${r.operatorStops} (+${r.foreignDevices.operatorStops} with a foreign device): a loop/zram device flow cannot tell from another program's; verify played the operator`,
    `  foreign objects  ${r.foreignDevices.runs} runs with another program's device in the window, ${r.foreignFiles.planted} with another process's file or directory in the way`,
    `  violations       ${r.violations.length}`,
    `  leaks            ${r.leaks}`,
  ];
  for (const v of r.violations.slice(0, SHOWN)) lines.push(`  violation: ${v}`);
  if (r.violations.length > SHOWN) lines.push(`  ... and ${r.violations.length - SHOWN} more (--json lists them all)`);
  lines.push(passed(r) ? `verified in ${r.seconds} s: every crash point resumes and rolls back exactly` : `not verified (${r.seconds} s)`);
  return lines.join('\n') + '\n';
}
