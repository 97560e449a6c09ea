/** ANSI colour for people: only when the stream is a TTY, never with NO_COLOR set (https://no-color.org). */

export type Style = (s: string) => string;

export interface Paint {
  enabled: boolean;
  green: Style;
  red: Style;
  yellow: Style;
  magenta: Style;
  dim: Style;
  bold: Style;
}

const sgr = (on: string, off: string): Style => (s) => `\x1b[${on}m${s}\x1b[${off}m`;
const plain: Style = (s) => s;

export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !(env.NO_COLOR !== undefined && env.NO_COLOR !== '');
}

export function paint(enabled: boolean): Paint {
  if (!enabled) return { enabled, green: plain, red: plain, yellow: plain, magenta: plain, dim: plain, bold: plain };
  return { enabled, green: sgr('32', '39'), red: sgr('31', '39'), yellow: sgr('33', '39'), magenta: sgr('35', '39'), dim: sgr('2', '22'), bold: sgr('1', '22') };
}
