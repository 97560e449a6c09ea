/**
 * The built CLI on a real pseudo-terminal: `script -qfec CMD /dev/null` (util-linux) runs
 * CMD on a new pty and copies everything written to it to our stdout, escape codes and
 * all. `screen()` replays that transcript on a tiny terminal model (cursor up/down,
 * carriage return, erase line/display, SGR ignored) and gives what a person would see at
 * the end, scrollback included.
 */
import { spawn } from 'node:child_process';
import type { Sandbox } from './harness.js';
import { MAIN } from './harness.js';

export interface PtyResult {
  code: number | null;
  /** everything written to the terminal (stdout and stderr), with \r\n line ends */
  raw: string;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface PtyOptions {
  env?: Record<string, string>;
  cols?: number;
  rows?: number;
  /** called once the process is up: `send` writes to the terminal as if typed (e.g. "\x03" for Ctrl-C) */
  during?: (send: (keys: string) => void, output: () => string) => Promise<void> | void;
}

export function onPty(sb: Sandbox, args: string[], o: PtyOptions = {}): Promise<PtyResult> {
  const cmd = `stty cols ${o.cols ?? 120} rows ${o.rows ?? 40} && exec ${q(process.execPath)} ${q(MAIN)} ${args.map(q).join(' ')}`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: sb.dir, env: { ...sb.env({ TERM: 'xterm-256color', ...o.env }) }, stdio: ['pipe', 'pipe', 'pipe'] });
  let raw = '';
  child.stdout.on('data', (d: Buffer) => (raw += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (raw += d.toString('utf8')));
  const closed = new Promise<number | null>((r) => child.on('close', r));
  const during = o.during?.((k) => child.stdin.write(k), () => raw);
  return (async () => {
    await during;
    const code = await closed;
    return { code, raw };
  })();
}

/** Waits until `cond()` holds (polling), at most `ms`. */
export async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const TOKEN = /\x1b\[([0-9;?]*)([@-~])|\x1b[()][0-9A-Za-z]|\r|\n|[^\x1b\r\n]/gu;

/** The screen (with scrollback) after replaying `raw` on a terminal `cols` wide. */
export function screen(raw: string, cols = 120): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  const line = (r: number) => (lines[r] ??= []);
  for (const m of raw.matchAll(TOKEN)) {
    const [tok, params, final] = m;
    if (final !== undefined) {
      const n = Number(params?.split(';')[0] || 0);
      if (final === 'A') row = Math.max(0, row - (n || 1));
      else if (final === 'B') row += n || 1;
      else if (final === 'G') col = Math.max(0, (n || 1) - 1);
      else if (final === 'K') {
        if (n === 2) lines[row] = [];
        else if (n === 0) line(row).length = Math.min(line(row).length, col);
      } else if (final === 'J' && n === 0) {
        line(row).length = Math.min(line(row).length, col);
        lines.length = row + 1;
      }
      // 'm' (colour), 'h'/'l' (modes): no effect on the text
    } else if (tok === '\r') col = 0;
    else if (tok === '\n') row++;
    else if (!tok.startsWith('\x1b')) {
      if (col >= cols) {
        row++;
        col = 0;
      }
      const l = line(row);
      while (l.length < col) l.push(' ');
      l[col++] = tok;
    }
  }
  for (let r = 0; r <= row; r++) line(r);
  const text = lines.map((l) => (l ?? []).join('').trimEnd());
  while (text.length && text[text.length - 1] === '') text.pop();
  return text;
}

/** Text without escape codes and carriage returns: every frame ever drawn, one after another. */
export function stripped(raw: string): string {
  return raw.replace(/\x1b\[[0-9;?]*[@-~]/g, '').replace(/\r/g, '');
}
