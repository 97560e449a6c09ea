/**
 * How run / resume / rollback show progress. One reporter per invocation: told about every
 * event once it is durable, then about the end (outcome or error).
 */
import type { FlowEvent } from '../../journal/events.js';
import type { RunOutcome } from '../engine/runner.js';
import type { Phase, RunState } from '../engine/state.js';
import { progressLine, runJson, runOutputs, statusOf } from './render.js';

export interface ReporterOptions {
  json?: boolean;
  quiet?: boolean;
}

export interface Reporter {
  event(e: FlowEvent, s: RunState, phase: Phase): void;
  done(out: RunOutcome): void;
  /** the run ended with an error; `current` is its state when known */
  failed(current: { state: RunState; phase: Phase } | undefined): void;
}

/** Plain lines: the id first, a line per event a person cares about, then the outputs. */
export function createReporter(opts: ReporterOptions): Reporter {
  const out = (s: string) => process.stdout.write(s + '\n');
  return {
    event(e, s) {
      if (opts.json) return;
      if (e.type === 'RunStarted') out(s.id);
      const line = progressLine(e, s);
      if (line && !opts.quiet) out(line);
    },
    done(r) {
      if (opts.json) return out(JSON.stringify(runJson(r.state, r.phase)));
      if (!opts.quiet) out(`run ${r.id}: ${statusOf(r.phase)}`);
      if (r.phase === 'done') {
        for (const [k, v] of Object.entries(runOutputs(r.state))) out(opts.quiet ? `${k}=${v}` : `  ${k.padEnd(11)} ${v}`);
        if (!opts.quiet) out(`undo everything with: flow rollback ${r.id}`);
      }
    },
    failed(current) {
      if (opts.json && current) out(JSON.stringify(runJson(current.state, current.phase)));
    },
  };
}
