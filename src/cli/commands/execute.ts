/**
 * Shared by run, resume and rollback: open the app, show progress as events become
 * durable, turn SIGINT/SIGTERM into a clean stop between steps, print the result.
 */
import { openApp, type App } from '../../app.js';
import type { RunOutcome, Runner } from '../../engine/runner.js';
import { fold } from '../../engine/fold.js';
import { progressLine, runJson, runOutputs, statusOf } from '../render.js';

export interface ExecOptions {
  stateDir: string;
  json?: boolean;
}

export async function execute(opts: ExecOptions, action: (runner: Runner, app: App) => Promise<RunOutcome>, knownId?: string): Promise<number> {
  const app = await openApp(opts.stateDir);
  let signal: string | undefined;
  let runId = knownId;
  const onSignal = (name: string) => () => {
    if (!signal) process.stderr.write(`flow: ${name} received: stopping after the current step\n`);
    signal ??= name;
  };
  const handlers = { SIGINT: onSignal('SIGINT'), SIGTERM: onSignal('SIGTERM') };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  const runner = app.runner({
    interrupted: () => signal,
    observe: (e, s) => {
      runId = s.id;
      if (opts.json) return;
      if (e.type === 'RunStarted') process.stdout.write(`${s.id}\n`);
      const line = progressLine(e, s);
      if (line) process.stdout.write(line + '\n');
    },
  });
  try {
    const out = await action(runner, app);
    print(opts, out);
    return 0;
  } catch (err) {
    if (opts.json && runId) await printCurrent(app, runId).catch(() => undefined);
    throw err;
  } finally {
    process.off('SIGINT', handlers.SIGINT);
    process.off('SIGTERM', handlers.SIGTERM);
  }
}

function print(opts: ExecOptions, out: RunOutcome): void {
  if (opts.json) {
    process.stdout.write(JSON.stringify(runJson(out.state, out.phase)) + '\n');
    return;
  }
  process.stdout.write(`run ${out.id}: ${statusOf(out.phase)}\n`);
  if (out.phase === 'done') {
    for (const [k, v] of Object.entries(runOutputs(out.state))) process.stdout.write(`  ${k.padEnd(11)} ${v}\n`);
    process.stdout.write(`undo everything with: flow rollback ${out.id}\n`);
  }
}

async function printCurrent(app: App, id: string): Promise<void> {
  const j = await app.store.load(id);
  const f = fold(id, j.events);
  process.stdout.write(JSON.stringify(runJson(f.state, f.phase)) + '\n');
}
