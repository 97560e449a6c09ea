/**
 * Small coercions shared by the parsers: tools print the same field as a number, a
 * padded string, a boolean or "0"/"1" depending on their version.
 */
import { KernelError } from '../../errors.js';

/** A parse failure: the tool printed something this parser does not understand. */
export function parseError(tool: string, detail: string): KernelError {
  return new KernelError('EFAIL', `cannot parse ${tool} output: ${detail}`);
}

/** A non-negative integer from a number or a (padded) decimal string; null/'' → 0. */
export function toInt(value: unknown, tool: string, field: string): number {
  if (value === null || value === undefined) return 0;
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
  if (text === '') return 0;
  if (text === undefined || !/^\d+$/.test(text)) throw parseError(tool, `${field} is not a number: ${JSON.stringify(value)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw parseError(tool, `${field} is too large: ${text}`);
  return n;
}

/** A boolean from true/false, 1/0, "1"/"0", "true"/"false" (any padding). */
export function toBool(value: unknown, tool: string, field: string): boolean {
  if (typeof value === 'boolean') return value;
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (text === '1' || text === 'true') return true;
  if (text === '0' || text === 'false' || text === '') return false;
  throw parseError(tool, `${field} is not a boolean: ${JSON.stringify(value)}`);
}

/** A trimmed string; null/undefined → ''. */
export function toStr(value: unknown): string {
  return value === null || value === undefined ? '' : String(value).trim();
}

/** Lines of text without trailing whitespace, empty lines dropped. */
export function nonEmptyLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
}
