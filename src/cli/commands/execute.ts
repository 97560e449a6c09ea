/**
 * Shared by run, resume and rollback: open the app, report progress as events become
 * durable, turn SIGINT/SIGTERM into a clean stop between steps, report the result.
 */
import { openApp, type App } from '../../app.js';
import { fold } from '../../engine/fold.js';
import type { RunOutcome, Runner } from '../../engine/runner.js';
import { installCommandLog } from '../log.js';
import { createReporter } from '../progress.js';
import { watchStopSignals } from '../stop-signals.js';
import type { GlobalOpts } from './common.js';

export interface ExecOptions extends GlobalOpts {
  json?: boolean;
  quiet?: boolean;
}

export async function execute(opts: ExecOptions, action: (runner: Runner, app: App) => Promise<RunOutcome>, knownId?: string): Promise<number> {
  const app = await openApp(opts.stateDir);
  const stopLog = installCommandLog(opts);
  const reporter = createReporter(opts);
  let runId = knownId;
  const signals = watchStopSignals('stopping after the current step');
  const runner = app.runner({
    interrupted: () => signals.received,
    observe: (e, s, phase) => {
      runId = s.id;
      reporter.event(e, s, phase);
    },
  });
  try {
    reporter.done(await action(runner, app));
    return 0;
  } catch (err) {
    reporter.failed(runId ? await current(app, runId).catch(() => undefined) : undefined);
    throw err;
  } finally {
    signals.dispose();
    stopLog();
  }
}

async function current(app: App, id: string) {
  const f = fold(id, (await app.store.load(id)).events);
  return { state: f.state, phase: f.phase };
}
