/**
 * Device-mapper table lines: "<start> <length> <target> <args...>" in 512-byte sectors.
 * Normalising makes a table read back from `dmsetup table` comparable with the one
 * flow asked for. Pure.
 */
import { KernelError } from '../../errors.js';

/** Collapses runs of whitespace to one space and strips both ends. */
export function normalizeTableLine(line: string): string {
  return line.trim().replace(/\s+/g, ' ');
}

/** `dmsetup table` / `dmsetup status` output → normalised lines; no live table (empty output) → []. */
export function parseTableOutput(text: string): string[] {
  return text
    .split('\n')
    .map(normalizeTableLine)
    .filter((l) => l !== '');
}

/** True when both tables have the same segments after normalisation. */
export function tablesEqual(a: readonly string[], b: readonly string[]): boolean {
  const na = a.map(normalizeTableLine).filter((l) => l !== '');
  const nb = b.map(normalizeTableLine).filter((l) => l !== '');
  return na.length === nb.length && na.every((l, i) => l === nb[i]);
}

/**
 * Refuses a table line that could inject another segment (newline, NUL) or is not
 * "<start> <length> <target> [args]" (EINVAL). Returns the normalised line.
 */
export function checkTableLine(line: string): string {
  if (/[\n\r\0]/.test(line)) throw new KernelError('EINVAL', `table line contains a newline or NUL: ${JSON.stringify(line)}`);
  const norm = normalizeTableLine(line);
  if (!/^\d+ \d+ [A-Za-z0-9_-]+( \S.*)?$/.test(norm)) throw new KernelError('EINVAL', `not a table line "<start> <length> <target> [args]": ${JSON.stringify(line)}`);
  return norm;
}

/** A field of dmsetup's concise format: backslash before `\`, `,` and `;` (dmsetup(8), CONCISE FORMAT). */
function conciseField(text: string): string {
  return text.replace(/[\\,;]/g, '\\$&');
}

/**
 * The argument of `dmsetup create --concise`: `<name>,<uuid>,<minor>,<flags>,<line>[,<line>...]`
 * (minor and flags empty: any minor, read-write). The whole table travels in argv, so a
 * dmsetup started by a flow that is killed right after cannot wait on stdin for a table
 * that never comes. Pure; the lines must already be checked (checkTableLine).
 */
export function conciseSpec(name: string, uuid: string, table: readonly string[]): string {
  return [name, uuid, '', '', ...table].map(conciseField).join(',');
}
