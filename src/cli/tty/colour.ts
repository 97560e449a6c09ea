/**
 * A tiny colour helper: SGR codes only when asked. Colour is for a person at a terminal:
 * only when stdout is a TTY, never with NO_COLOR set (to any value, even empty), never
 * with --json.
 */
export interface Paint {
  readonly enabled: boolean;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const sgr = (on: number, off: number) => (s: string) => (s ? `\x1b[${on}m${s}\x1b[${off}m` : s);
const same = (s: string) => s;

export function paint(enabled: boolean): Paint {
  if (!enabled) return { enabled, green: same, red: same, yellow: same, cyan: same, dim: same, bold: same };
  return { enabled, green: sgr(32, 39), red: sgr(31, 39), yellow: sgr(33, 39), cyan: sgr(36, 39), dim: sgr(2, 22), bold: sgr(1, 22) };
}

export function wantsColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, json = false): boolean {
  return !!stream.isTTY && env.NO_COLOR === undefined && !json;
}
