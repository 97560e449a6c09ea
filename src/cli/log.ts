/**
 * --verbose: every command flow executes, with its exact argv, exit code and duration, on
 * stderr (JSON lines with --log-format json). To be completed (issue 4).
 */
import type { GlobalOpts } from './commands/common.js';

/** Starts logging commands as `opts` asks; returns a function that stops it. */
export function installCommandLog(opts: GlobalOpts): () => void {
  void opts;
  return () => undefined;
}
