/**
 * `flow exec <id> -- COMMAND...`: the command in a done run's mounted root. Before anything
 * changes: the run exists, is done, its devices are this boot's, its root is mounted, the
 * bind targets are the image's own directories, and the host can run the image's programs
 * (arch.ts). Then the binds are a run of flow's internal `exec-binds` workflow (journaled:
 * binds-workflow.ts), the command runs, and the bind run is rolled back, also when the
 * command failed. The target run's lock is held throughout (no rollback of it meanwhile),
 * and the bind run's from before its first step until its rollback ended.
 */
import path from 'node:path';
import { newRunId } from '../../journal/ids.js';
import { FRESH_RUN_LOCK, holding, type Release } from '../../journal/lock.js';
import type { App } from '../app.js';
import { Session } from '../engine/session.js';
import { ExecRefusedError, InterruptedError, RunNotFoundError, StepFailedError } from '../errors.js';
import { runOutputs, statusOf } from '../cli/render.js';
import { watchStopSignals } from '../cli/stop-signals.js';
import { preflightWorkflow } from '../preflight/workflow.js';
import { definitionRecord, workflowDefOf } from '../workflow/run-def.js';
import { archVerdict } from './arch.js';
import { readBinfmt } from './binfmt-host.js';
import { BIND_TARGETS, EXEC_BINDS, execBindsWorkflow } from './binds-workflow.js';
import type { CommandRunner } from './command.js';
import { hostMachine } from './elf.js';
import { inspectRoot } from './root.js';

export interface ExecEnv {
  app: App;
  run: CommandRunner;
  binfmtDir?: string;
  /** where the user said things are relative to (preflight) */
  cwd: string;
  /** notes for stderr (the resolver decision) */
  note(line: string): void;
}

/** The mounted root of done run `id`, checked; throws a refusal naming what to do. */
async function rootOf(app: App, id: string): Promise<string> {
  const s = Session.open(await app.store.load(id));
  const st = s.state;
  if (st.workflow === EXEC_BINDS && st.definition?.source.kind === 'builtin') throw new ExecRefusedError(`run ${id} is the bind run of a flow exec, not a run with a root`, 'give the id of the run whose root the command should run in (flow list)');
  if (s.phase !== 'done') {
    const hint = s.phase === 'rolled-back' ? 'start a new run with `flow run`' : `finish it first: \`flow resume ${id}\` (or \`flow rollback ${id}\`)`;
    throw new ExecRefusedError(`run ${id} is ${statusOf(s.phase)}, not done: its root may not be mounted`, hint);
  }
  const boot = await app.kernel.system.bootId();
  if (boot !== st.bootId || st.steps.some((x) => x.status !== 'applied')) {
    throw new ExecRefusedError(`run ${id} was made before the host rebooted: the reboot took its devices and mounts`, `\`flow resume ${id}\` rebuilds them (a persistent COW keeps its changes); then run flow exec again`);
  }
  const root = runOutputs(st).mountpoint;
  if (!root) throw new ExecRefusedError(`run ${id} (${st.workflow}) has no mounted root: its outputs name no mountpoint (was it run with --no-mount?)`, 'flow exec runs a command in the mountpoint of a run such as snapshot-image');
  if (!(await app.kernel.mounts.list()).some((m) => m.target === root)) {
    throw new ExecRefusedError(`nothing is mounted at ${root}, run ${id}'s mountpoint (unmounted by hand?)`, `see \`flow show ${id}\`; \`flow rollback ${id}\` and a new run start clean`);
  }
  return root;
}

/**
 * Nothing may be mounted on a bind target yet: the kernel would stack the new bind over it, and a
 * bind of the same directory at the same place is indistinguishable from the new run's own
 * (the mount kind knows a bind by target and source), so its rollback would take the old one.
 * An earlier flow exec that was killed leaves exactly that until `flow recover`.
 */
async function refuseTaken(app: App, root: string): Promise<void> {
  const targets = new Set(BIND_TARGETS.map((t) => path.join(root, t)));
  const taken = (await app.kernel.mounts.list()).filter((m) => targets.has(m.target));
  if (taken.length === 0) return;
  throw new ExecRefusedError(
    `${taken.map((m) => m.target).join(', ')} ${taken.length === 1 ? 'is' : 'are'} already mounted: flow exec binds there`,
    'an earlier flow exec that was killed leaves its binds until `flow recover` removes them (`flow list` shows its exec-binds run); otherwise unmount them',
  );
}

export async function execInRun(env: ExecEnv, id: string, argv: readonly string[]): Promise<number> {
  const { app } = env;
  if (argv.length === 0) throw new ExecRefusedError('no command given', `e.g. flow exec ${id} -- /bin/sh -c 'uname -m'`);
  if (!(await app.store.exists(id))) throw new RunNotFoundError(`no run ${id} in ${app.store.dirs.runs}`, 'list runs with `flow list`');
  const releaseTarget = await app.locks.acquire(`run-${id}`, { wait: false, what: `run ${id}` });
  try {
    const root = await rootOf(app, id);
    await refuseTaken(app, root);
    const facts = await inspectRoot(root, argv[0]!);
    if (!facts.probe) throw new ExecRefusedError(`cannot tell the architecture of the image in ${root}: neither ${argv[0]!.startsWith('/') ? `${argv[0]}, ` : ''}/bin/sh nor /usr/bin/env is an ELF program there`, 'is this the root of a Linux system? flow exec needs one of them to check that this host can run its programs');
    archVerdict(hostMachine(), facts.probe, await readBinfmt(env.binfmtDir));
    if (facts.resolvNote) env.note(facts.resolvNote);
    return await withBinds(env, root, facts.resolvConf, () => env.run(root, argv, process.env));
  } finally {
    await releaseTarget();
  }
}

/** The bind run around `fn`: started, `fn`, rolled back (also when `fn` or the start failed or was interrupted). */
async function withBinds(env: ExecEnv, root: string, resolvConf: boolean, fn: () => Promise<number>): Promise<number> {
  const { app } = env;
  let bid = newRunId();
  while (await app.store.exists(bid)) bid = newRunId();
  const release: Release = await app.locks.acquire(`run-${bid}`, FRESH_RUN_LOCK(bid));
  const signals = watchStopSignals('stopping after the current bind; nothing runs in the image');
  let started = false;
  const locks = holding(app.locks, `run-${bid}`);
  try {
    const loaded = execBindsWorkflow();
    const pf = await preflightWorkflow(loaded, { root, resolvConf }, { kernel: app.kernel, cwd: env.cwd, runDir: app.runDir, id: bid, newUuid: app.newUuid });
    const starter = app.runner({ interrupted: () => signals.received, locks, observe: () => (started = true) });
    try {
      await starter.start({ id: bid, workflow: workflowDefOf(loaded, pf), params: pf.params, definition: definitionRecord(loaded, pf), keepOnFailure: false });
    } catch (err) {
      // a failed step was rolled back by the runner; an interruption is rolled back here
      if (err instanceof InterruptedError) await app.runner({ locks }).rollback(bid);
      throw err;
    }
    signals.dispose();
    let code: number;
    try {
      code = await fn();
    } finally {
      // the rollback is short and must finish: a stop signal now waits for it (flow recover would do it otherwise)
      const hold = watchStopSignals('rolling back the binds first');
      try {
        await app.runner({ locks }).rollback(bid);
      } finally {
        hold.dispose();
      }
    }
    return code;
  } catch (err) {
    const gone = err instanceof InterruptedError || (err instanceof StepFailedError && err.rolledBack);
    if (started && !gone) env.note(`the bind run is ${bid}: \`flow rollback ${bid}\` (or \`flow recover\`) undoes what is left of it`);
    throw err;
  } finally {
    signals.dispose();
    await release();
  }
}
