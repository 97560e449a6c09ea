/**
 * --verbose: every command flow executes, with its exact argv, exit code and duration, on
 * stderr; JSON lines with --log-format json. Each line is written with one synchronous
 * write(2) to fd 2 before flow goes on, so nothing logged is lost when flow is SIGKILLed.
 */
import { writeSync } from 'node:fs';
import { setCommandObserver, type CommandRecord } from '../kernel/exec.js';
import { line } from '../steps/types.js';
import type { GlobalOpts } from './commands/common.js';

/** Milliseconds with one decimal. */
const ms = (d: number) => Math.round(d * 10) / 10;

/** `{"level","msg","argv","exitCode","durationMs","code"?}`; exitCode null when the command never exited. */
export function commandJson(r: CommandRecord): string {
  return JSON.stringify({
    level: r.error ? 'warn' : 'debug',
    msg: 'command',
    argv: r.argv,
    exitCode: r.exitCode ?? null,
    durationMs: ms(r.durationMs),
    ...(r.error ? { code: r.error } : {}),
  });
}

/** `flow: $ losetup --find --show -- /srv/a.img  (exit 0, 12.3 ms)` */
export function commandText(r: CommandRecord): string {
  const exit = r.exitCode === undefined ? 'no exit code' : `exit ${r.exitCode}`;
  return `flow: $ ${line(...r.argv)}  (${exit}, ${ms(r.durationMs)} ms${r.error ? `, ${r.error}` : ''})`;
}

/** Writes all of `text` to fd 2 synchronously (retrying a full non-blocking pipe). */
export function writeStderrSync(text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  let spins = 0;
  while (off < buf.length) {
    try {
      off += writeSync(2, buf, off, buf.length - off);
    } catch (err) {
      if ((err as { code?: string }).code !== 'EAGAIN' || ++spins > 100_000) return; // a log must never crash flow
    }
  }
}

/** Starts logging commands as `opts` asks; returns a function that stops it. */
export function installCommandLog(opts: GlobalOpts): () => void {
  if (!opts.verbose) return () => undefined;
  const format = opts.logFormat === 'json' ? commandJson : commandText;
  setCommandObserver((r) => writeStderrSync(format(r) + '\n'));
  return () => setCommandObserver(undefined);
}
