/**
 * Parsing and checking of option values. Every failure is a UsageError naming the
 * option, what is wrong, and what is accepted.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
/** Largest size flow accepts (1 PiB): beyond any device it provisions, and exact in a double. */
export const MAX_SIZE = 1024 ** 5;

const SIZE_HINT = 'use a whole number of bytes or K/M/G/T, e.g. 512M or 4G';

/**
 * "512M" → 536870912. Bytes or K/M/G/T (powers of 1024), optionally followed by "iB"/"B".
 * `multipleOf` comes with the reason (`why`, e.g. "the sector size") for the message.
 */
export function parseSize(option: string, raw: string, opts: { multipleOf?: number; why?: string; min?: number } = {}): number {
  const t = raw.trim();
  if (/^-\d/.test(t)) throw new UsageError(`${option} ${raw} is negative`, SIZE_HINT);
  const m = /^(\d+)([KMGT]?)(?:i?B)?$/i.exec(t);
  if (!m) throw new UsageError(`${option} ${JSON.stringify(raw)} is not a size`, SIZE_HINT);
  const bytes = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (bytes === 0) throw new UsageError(`${option} ${raw} is zero`, SIZE_HINT);
  if (!Number.isSafeInteger(bytes) || bytes > MAX_SIZE) throw new UsageError(`${option} ${raw} is too large`, 'at most 1P (1024T)');
  if (opts.min && bytes < opts.min) throw new UsageError(`${option} ${raw} is too small`, `at least ${formatSize(opts.min)}`);
  if (opts.multipleOf && bytes % opts.multipleOf !== 0) {
    const why = opts.why ?? (opts.multipleOf === 512 ? 'the sector size' : undefined);
    throw new UsageError(`${option} ${raw} is not a multiple of ${opts.multipleOf} bytes${why ? ` (${why})` : ''}`, `for example ${formatSize(Math.ceil(bytes / opts.multipleOf) * opts.multipleOf)}`);
  }
  return bytes;
}

/** A whole number in [min, max]; `hint` replaces the default "use a number from min to max". */
export function parseInteger(option: string, raw: string, min: number, max: number, hint = `use a number from ${min} to ${max}`): number {
  const t = raw.trim();
  if (/^-\d+$/.test(t)) throw new UsageError(`${option} ${raw} is negative`, hint);
  if (!/^\d+$/.test(t)) throw new UsageError(`${option} ${JSON.stringify(raw)} is not a whole number`, hint);
  const n = Number(t);
  if (n < min) throw new UsageError(`${option} ${raw} is too small`, hint);
  if (n > max) throw new UsageError(`${option} ${raw} is too large`, hint);
  return n;
}

/** 536870912 → "512M" (exact units only). */
export function formatSize(bytes: number): string {
  for (const u of ['T', 'G', 'M', 'K']) {
    const f = UNITS[u]!;
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}`;
  }
  return String(bytes);
}

/**
 * A value quoted for a message: JSON string syntax, and also the characters JSON.stringify
 * leaves raw that a terminal may act on (DEL, C1 controls such as CSI U+009B, line and
 * paragraph separators) escaped, so a hostile value cannot rewrite the user's screen.
 */
export function quote(value: string): string {
  return JSON.stringify(value).replace(/[\x7f-\x9f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const DM_NAME = /^[A-Za-z0-9#+.:=@_-]+$/;

/**
 * A device-mapper name: characters dm does not mangle, not starting with '-' (it would be
 * read as an option), not "." or "..", and short enough for its suffixes.
 */
export function checkDmName(option: string, name: string, suffixLength = 0): string {
  const chars = 'use only letters, digits and # + - . : = @ _';
  if (name.length === 0) throw new UsageError(`${option} is empty`, `leave out ${option} for the default name, or give one (${chars.slice(4)})`);
  if (!DM_NAME.test(name)) throw new UsageError(`${option} ${quote(name)} has characters device-mapper would mangle`, chars);
  if (name.startsWith('-')) throw new UsageError(`${option} ${JSON.stringify(name)} starts with '-' and would be read as an option`, 'start it with a letter or digit');
  if (/^\.+$/.test(name)) throw new UsageError(`${option} ${JSON.stringify(name)} is not a usable device name`, `${chars}, not only dots`);
  const max = 127 - suffixLength;
  if (Buffer.byteLength(name) > max) {
    throw new UsageError(`${option} is ${Buffer.byteLength(name)} bytes long`, `at most ${max} bytes${suffixLength ? ` (device-mapper allows 127, and flow adds a ${suffixLength}-byte suffix)` : ''}`);
  }
  return name;
}

/** An absolute, normalised path with no control characters (a newline would inject a table line). */
export function checkPath(option: string, raw: string, cwd: string): string {
  if (raw.length === 0) throw new UsageError(`${option} is empty`, `give a path after ${option}`);
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new UsageError(`${option} ${quote(raw)} contains control characters (newline, tab, ...)`, 'rename the file or directory');
  if (raw.length > 4000) throw new UsageError(`${option} is too long (${raw.length} characters)`, 'use a shorter path (at most 4000 characters)');
  return path.resolve(cwd, raw);
}
