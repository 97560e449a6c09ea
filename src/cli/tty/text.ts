/** Text helpers for the terminal: widths that ignore escape codes, truncation, durations. */

// SGR (colour) and other CSI sequences
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

export function visibleLength(s: string): number {
  return [...stripAnsi(s)].length;
}

/** Cuts `s` to at most `width` visible characters (ending in "…"), keeping escape codes balanced. */
export function truncate(s: string, width: number): string {
  if (visibleLength(s) <= width) return s;
  let out = '';
  let n = 0;
  let sawCode = false;
  for (let i = 0; i < s.length; ) {
    ANSI.lastIndex = i;
    const m = s[i] === '\x1b' ? ANSI.exec(s) : null;
    if (m && m.index === i) {
      out += m[0];
      sawCode = true;
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(s.codePointAt(i)!);
    if (n === width - 1) break;
    out += ch;
    n++;
    i += ch.length;
  }
  return out + '…' + (sawCode ? '\x1b[0m' : '');
}

/** 840ms, 1.5s, 12.0s, 2m05s */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
}

/** A running clock: 0.0s, 1.5s, 12.3s, 2m05s (steadier to watch than milliseconds). */
export function elapsed(ms: number): string {
  return ms < 60_000 ? `${(Math.max(0, ms) / 1000).toFixed(1)}s` : duration(ms);
}
