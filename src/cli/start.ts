/**
 * How flow starts, for both entries (main.ts, the shipped one; src/testing/entry.ts).
 * Start-up is most of what a read-only command costs, so the two
 * commands run most often by people and scripts take a fast path that loads next to
 * nothing: `flow --version`, and `flow list` while the run index is fresh (list-fast.ts).
 * Everything else (and every case a fast path is unsure of) loads the full command line,
 * program.ts (commander and every command), the way the entry says (main.ts: through the
 * build's code cache).
 */
import { DEFAULT_STATE_DIR, FLOW_VERSION } from '../version.js';

/**
 * `flow [global options] list [--json] [global options]` in the plain forms only
 * (--state-dir DIR or --state-dir=DIR at most once, --verbose, --log-format text|json):
 * the state directory and --json; undefined for anything else, which commander parses.
 */
export function plainList(args: readonly string[], env: NodeJS.ProcessEnv): { stateDir: string; json: boolean } | undefined {
  let stateDir: string | undefined;
  let json = false;
  let list = false;
  let logFormat = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === 'list' && !list) list = true;
    else if (a === '--json' && list && !json) json = true;
    else if (a === '--verbose') continue;
    else if ((a === '--state-dir' || a.startsWith('--state-dir=')) && stateDir === undefined) {
      const v = a === '--state-dir' ? args[++i] : a.slice('--state-dir='.length);
      if (!v || v.startsWith('-')) return undefined;
      stateDir = v;
    } else if ((a === '--log-format' || a.startsWith('--log-format=')) && !logFormat) {
      const v = a === '--log-format' ? args[++i] : a.slice('--log-format='.length);
      if (v !== 'text' && v !== 'json') return undefined;
      logFormat = true;
    } else return undefined;
  }
  if (!list) return undefined;
  if (stateDir === undefined && env.FLOW_STATE_DIR !== undefined) {
    if (env.FLOW_STATE_DIR === '') return undefined;
    stateDir = env.FLOW_STATE_DIR;
  }
  return { stateDir: stateDir ?? DEFAULT_STATE_DIR, json };
}

/** The full command line, as each entry loads it (the shipped one: through its code cache, main.ts). */
export type LoadProgram = () => Promise<{ run(argv: string[]): Promise<number> }>;

export async function start(argv: string[], loadProgram: LoadProgram): Promise<number> {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
    process.stdout.write(`${FLOW_VERSION}\n`);
    return 0;
  }
  const list = plainList(args, process.env);
  if (list && (await (await import('./commands/list-fast.js')).fastList(list.stateDir, list.json, process.env))) return 0;
  return (await loadProgram()).run(argv);
}

/** Runs the command line `argv` and sets the exit code. */
export function main(argv: string[], loadProgram: LoadProgram): void {
  // `flow run ... | head -1`: a reader that goes away must not abort a run halfway; the
  // run goes on (its journal says what happened) and output to the closed pipe is dropped.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  start(argv, loadProgram).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`flow: internal error: ${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
