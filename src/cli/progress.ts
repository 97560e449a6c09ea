/**
 * How run / resume / rollback show progress. One reporter per invocation: told about every
 * event once it is durable, then about the end (outcome or error).
 *
 *   --json      nothing while running; one JSON object at the end
 *   --quiet     the run id (first line, when the run starts) and the outputs as key=value
 *   a TTY       a live list of the run's steps, redrawn in place (tty/board.ts, tty/live.ts);
 *               colour unless NO_COLOR is set; TERM=dumb gets the plain lines, and so does
 *               --verbose when stderr is the terminal too (its lines are written to fd 2
 *               directly, so the list could not stay below them)
 *   otherwise   plain lines: the id, then one line per event a person cares about
 */
import type { FlowEvent } from '../../journal/events.js';
import type { RunOutcome } from '../engine/runner.js';
import type { Phase, RunState } from '../engine/state.js';
import { progressLine, runJson, runOutputs, statusOf } from './render.js';
import { Board } from './tty/board.js';
import { paint, wantsColour, type Paint } from './tty/colour.js';
import { LiveRegion, type Terminal } from './tty/live.js';

export interface ReporterOptions {
  json?: boolean;
  quiet?: boolean;
  /** --verbose: log lines go straight to fd 2 (log.ts), which a live list cannot keep above itself */
  verbose?: boolean;
}

export interface Reporter {
  event(e: FlowEvent, s: RunState, phase: Phase): void;
  done(out: RunOutcome): void;
  /** the run ended with an error; `current` is its state when known */
  failed(current: { state: RunState; phase: Phase } | undefined): void;
}

/** Where a reporter writes (the process's own streams unless a test says otherwise). */
export interface ReporterIO {
  stdout: Terminal & { isTTY?: boolean };
  stderr?: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

const processIO = (): ReporterIO => ({ stdout: process.stdout, stderr: process.stderr, env: process.env });

export function createReporter(opts: ReporterOptions, io: ReporterIO = processIO()): Reporter {
  const out = (s: string) => void io.stdout.write(s + '\n');
  if (opts.json) return jsonReporter(out);
  if (opts.quiet) return quietReporter(out);
  const logsInTheWay = opts.verbose && io.stderr?.isTTY;
  if (io.stdout.isTTY && io.env.TERM !== 'dumb' && !logsInTheWay) return ttyReporter(io, paint(wantsColour(io.stdout, io.env)));
  return plainReporter(out);
}

/**
 * One object at the end. `changed`: this invocation wrote the run's journal (a run started,
 * resumed or rolled back now); false when it only found the run as asked (a `--key` whose
 * run is done, a rollback of a rolled-back run): what configuration management reports.
 */
function jsonReporter(out: (s: string) => void): Reporter {
  let written = 0;
  const json = (state: RunState, phase: Phase) => out(JSON.stringify({ ...runJson(state, phase), changed: written > 0 }));
  return {
    event: () => void written++,
    done: (r) => json(r.state, r.phase),
    failed: (current) => current && json(current.state, current.phase),
  };
}

function quietReporter(out: (s: string) => void): Reporter {
  return {
    event: (e, s) => e.type === 'RunStarted' && out(s.id),
    done: (r) => {
      if (r.phase === 'done') for (const [k, v] of Object.entries(runOutputs(r.state))) out(`${k}=${v}`);
    },
    failed: () => undefined,
  };
}

/** Plain lines: the id first, a line per event a person cares about, then the outputs. */
function plainReporter(out: (s: string) => void): Reporter {
  return {
    event(e, s) {
      if (e.type === 'RunStarted') out(s.id);
      const line = progressLine(e, s);
      if (line) out(line);
    },
    done: (r) => summary(r, paint(false)).forEach(out),
    failed: () => undefined,
  };
}

/** The end of a run that went well: its status, outputs, and how to undo it. */
function summary(r: RunOutcome, p: Paint): string[] {
  const status = statusOf(r.phase);
  const lines = [`run ${r.id}: ${r.phase === 'done' ? p.green(status) : r.phase === 'rolled-back' ? p.yellow(status) : status}`];
  if (r.phase === 'done') {
    for (const [k, v] of Object.entries(runOutputs(r.state))) lines.push(`  ${k.padEnd(11)} ${v}`);
    lines.push(p.dim(`undo everything with: flow rollback ${r.id}`));
  }
  return lines;
}

/** The live list: drawn at the first event, redrawn at each event and while a step runs. */
function ttyReporter(io: ReporterIO, p: Paint): Reporter {
  const out = (s: string) => void io.stdout.write(s + '\n');
  let board: Board | undefined;
  let live: LiveRegion | undefined;
  const stop = () => live?.stop(board!.lines(Date.now(), p, true));
  return {
    event(e, s, phase) {
      if (!board) {
        if (e.type === 'RunStarted') out(s.id);
        board = new Board(s);
        live = new LiveRegion(io.stdout, () => board!.lines(Date.now(), p), { stderr: io.stderr?.isTTY ? io.stderr : undefined, animating: () => board!.animating() });
        live.start();
      }
      board.apply(e, s, phase);
      if (e.type === 'BootChanged') live!.print(p.yellow(progressLine(e, s) ?? '') + '\n');
      else live!.draw();
    },
    done(r) {
      stop();
      summary(r, p).forEach(out);
    },
    failed: stop,
  };
}
