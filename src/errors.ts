/**
 * flow's one errors module. Every failure flow reports is one of these classes; the CLI
 * maps them to exit codes and messages in one place (src/cli/exit.ts).
 */

/** Codes a kernel operation can fail with (errno-like; what the contract suite checks). */
export type KernelErrorCode =
  | 'EBUSY' // in use: open device, mounted, held by dm
  | 'ENXIO' // no such device
  | 'EEXIST' // name or UUID taken
  | 'ENOENT' // no such file
  | 'EINVAL' // refused argument (bad table, bad block size, not a mount point)
  | 'EPERM' // not allowed (not root)
  | 'ENOSPC'
  | 'EIO'
  | 'ETIMEDOUT' // the command did not finish in time
  | 'ENOTSUP' // facility missing (no device-mapper, no zram module, tool not installed)
  | 'EFAIL'; // failed for a reason none of the above names

/** Base class: `hint` says what the user can do next. */
export class FlowError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command line or bad input, found before anything changed (exit 2). */
export class UsageError extends FlowError {}

/** A run id that is malformed or unknown (exit 2). */
export class RunNotFoundError extends FlowError {}

/** A journal file that does not parse or validate (exit 3); never overwritten. */
export class CorruptJournalError extends FlowError {
  constructor(
    readonly path: string,
    detail: string,
  ) {
    super(
      `journal ${path} is corrupt: ${detail}`,
      'flow will not touch it. Inspect or move the file away; other runs are unaffected.',
    );
  }
}

/** The state directory is unsafe or unusable (exit 2). */
export class StateDirError extends FlowError {}

/** The journal could not be written durably; the next step did not start (exit 1). */
export class JournalWriteError extends FlowError {
  constructor(
    readonly path: string,
    readonly code: string,
    readonly detail: string,
    hint = 'free space or fix the filesystem, then `flow resume <id>` or `flow rollback <id>`.',
  ) {
    super(`cannot write journal ${path}: ${detail}`, hint);
  }
}

/** Another flow process holds the run or the resource (exit 4). */
export class LockedError extends FlowError {}

/** A kernel operation failed. */
export class KernelError extends FlowError {
  constructor(
    readonly code: KernelErrorCode,
    message: string,
    readonly argv: readonly string[] = [],
    readonly exitCode?: number,
    readonly stderr?: string,
  ) {
    super(message);
  }
}

/** A step failed; the run was rolled back or kept (exit 1). */
export class StepFailedError extends FlowError {
  constructor(
    readonly runId: string,
    readonly step: string,
    readonly reason: string,
    readonly rolledBack: boolean,
  ) {
    super(`step ${step} failed: ${reason}`, rolledBack ? `the run was rolled back; nothing of it remains` : `the run was kept as it is: \`flow rollback ${runId}\` undoes it, \`flow resume ${runId}\` retries`);
  }
}

/** A step could not be settled; the operator must act (exit 3). */
export class NeedsOperatorError extends FlowError {
  constructor(
    readonly runId: string,
    readonly step: string,
    readonly reason: string,
    readonly commands: string[],
  ) {
    super(`run ${runId} needs an operator at step ${step}: ${reason}`);
  }
}

/** SIGINT/SIGTERM stopped the run between steps (exit 130). */
export class InterruptedError extends FlowError {
  /** `hint`: instead of resume/rollback (an export's run was already rolled back) */
  constructor(readonly runId: string, readonly signal: string, hint?: string) {
    super(`run ${runId} interrupted by ${signal}`, hint ?? `\`flow resume ${runId}\` continues it, \`flow rollback ${runId}\` undoes it`);
  }
}

/**
 * A step's resolved arguments, or the outputs its apply returned, do not fit its kind's
 * schema (exit 1). Arguments: found before the step's intent is written, so nothing of
 * the step happened. Outputs: the effect may be there, unrecorded: the step is in doubt,
 * and resume probes it.
 */
export class StepSchemaError extends FlowError {
  constructor(
    readonly runId: string,
    readonly step: string,
    readonly what: 'arguments' | 'outputs',
    detail: string,
  ) {
    super(
      what === 'arguments' ? `step ${step}: its arguments do not fit its kind: ${detail}` : `step ${step}: what it recorded does not fit its kind: ${detail}`,
      what === 'arguments'
        ? `nothing of step ${step} was done; fix the workflow (flow check), then \`flow rollback ${runId}\` undoes the steps before it`
        : `a bug in flow: \`flow resume ${runId}\` probes the step, \`flow rollback ${runId}\` undoes the run`,
    );
  }
}

export function kernelCode(err: unknown): KernelErrorCode | undefined {
  return err instanceof KernelError ? err.code : undefined;
}

/** A workflow file that does not pass `flow check` (exit 2): each problem at file:line:column with its fix. */
export class WorkflowFileError extends UsageError {
  constructor(
    readonly file: string,
    readonly problems: readonly { line: number; col: number; message: string; fix: string }[],
  ) {
    super(
      `${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  ${file}:${p.line}:${p.col}: ${p.message}\n    fix: ${p.fix}`).join('\n'),
    );
  }
}

/** `flow verify` found crash points where recovery is not exact (exit 5); the figures and findings were printed. */
export class VerifyFailedError extends FlowError {
  constructor(
    readonly workflow: string,
    readonly violations: number,
    readonly leaks: number,
  ) {
    super(
      `${workflow} did not verify: ${violations} violation${violations === 1 ? '' : 's'}, ${leaks} leak${leaks === 1 ? '' : 's'}`,
      'each finding names the crash point, the crash (process or power) and the recovery; `flow verify ... --json` lists them all',
    );
  }
}

/**
 * `flow exec` will not run the command (exit 2), found before anything changed: the run is
 * unknown to it as a root (not done, its devices gone with a reboot, nothing mounted), or
 * the image is of another architecture that this host cannot run in a chroot.
 */
export class ExecRefusedError extends FlowError {}
