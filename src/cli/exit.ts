/**
 * The one place that turns errors into exit codes and messages.
 *   0 done · 1 a step failed · 2 usage or bad input (nothing changed) ·
 *   3 needs an operator (or a corrupt journal) · 4 locked by another flow ·
 *   5 `flow verify` found violations or leaks · 130 interrupted
 */
import {
  CorruptJournalError,
  ExecRefusedError,
  FlowError,
  InterruptedError,
  JournalWriteError,
  KernelError,
  LockedError,
  NeedsOperatorError,
  RunNotFoundError,
  StateDirError,
  StepFailedError,
  UsageError,
  VerifyFailedError,
} from '../errors.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, operator: 3, locked: 4, unverified: 5, interrupted: 130 } as const;

export function exitCodeOf(err: unknown): number {
  // a kernel facility flow needs is missing: found before anything changed (steps wrap their own errors)
  if (err instanceof KernelError && err.code === 'ENOTSUP') return EXIT.usage;
  if (err instanceof UsageError || err instanceof RunNotFoundError || err instanceof StateDirError) return EXIT.usage;
  // flow exec: the run cannot host the command; nothing changed
  if (err instanceof ExecRefusedError) return EXIT.usage;
  if (err instanceof NeedsOperatorError || err instanceof CorruptJournalError) return EXIT.operator;
  if (err instanceof LockedError) return EXIT.locked;
  if (err instanceof InterruptedError) return EXIT.interrupted;
  if (err instanceof VerifyFailedError) return EXIT.unverified;
  if (err instanceof StepFailedError || err instanceof JournalWriteError) return EXIT.failed;
  return EXIT.failed;
}

/** The message for stderr: what happened, then what to do. */
export function messageOf(err: unknown): string {
  if (err instanceof NeedsOperatorError) {
    const lines = [`flow: ${err.message}`, 'flow could not settle this step by itself. What may remain, to check and do by hand (last step first):'];
    lines.push(...(err.commands.length ? err.commands.map((c) => `  ${c}`) : ['  (nothing)']));
    lines.push(`then run \`flow rollback ${err.runId}\` (or \`flow resume ${err.runId}\`) again.`);
    lines.push(`(a step you settled by hand instead: \`flow resolve ${err.runId} --step ${err.step} --as absent|applied\` records it; \`flow show ${err.runId}\` shows the run)`);
    return lines.join('\n');
  }
  if (err instanceof KernelError && err.code === 'ENOTSUP') {
    return `flow: ${err.message}\n  this host lacks something flow needs: \`flow doctor\` lists what and how to fix it (a kernel without device-mapper: run flow inside the kernel lab, scripts/lab)`;
  }
  if (err instanceof FlowError) return `flow: ${err.message}${err.hint ? `\n  ${err.hint}` : ''}`;
  const e = err as Error;
  return `flow: internal error: ${e?.message ?? String(err)}${process.env.FLOW_DEBUG ? `\n${e?.stack ?? ''}` : '\n  (set FLOW_DEBUG=1 for a stack trace)'}`;
}
