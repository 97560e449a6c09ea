/**
 * Parsing and checking of option values. Every failure is a UsageError naming the
 * option, what is wrong, and what is accepted.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };
/** Largest size flow accepts (1 PiB): beyond any device it provisions, and exact in a double. */
export const MAX_SIZE = 1024 ** 5;

/** "512M" → 536870912. Bytes or K/M/G/T (powers of 1024), optionally followed by "iB"/"B". */
export function parseSize(option: string, raw: string, opts: { multipleOf?: number; min?: number } = {}): number {
  const m = /^(\d+)([KMGT]?)(?:i?B)?$/i.exec(raw.trim());
  if (!m) {
    const hint = raw.trim().startsWith('-') ? 'a size cannot be negative' : 'use a whole number of bytes or K/M/G/T, e.g. 512M or 4G';
    throw new UsageError(`${option} ${JSON.stringify(raw)} is not a size`, hint);
  }
  const bytes = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (bytes === 0) throw new UsageError(`${option} must be larger than zero`);
  if (!Number.isSafeInteger(bytes) || bytes > MAX_SIZE) throw new UsageError(`${option} ${raw} is too large`, 'at most 1P (1024T)');
  if (opts.min && bytes < opts.min) throw new UsageError(`${option} ${raw} is too small`, `at least ${formatSize(opts.min)}`);
  if (opts.multipleOf && bytes % opts.multipleOf !== 0) {
    throw new UsageError(`${option} ${raw} is not a multiple of ${opts.multipleOf} bytes (the sector size)`, `for example ${formatSize(Math.ceil(bytes / opts.multipleOf) * opts.multipleOf)}`);
  }
  return bytes;
}

/** A whole number in [min, max]. */
export function parseInteger(option: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) {
    throw new UsageError(`${option} ${JSON.stringify(raw)} is not a whole number`, `use a number from ${min} to ${max}`);
  }
  const n = Number(raw.trim());
  if (n < min || n > max) throw new UsageError(`${option} ${raw} is out of range`, `use a number from ${min} to ${max}`);
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

const DM_NAME = /^[A-Za-z0-9#+.:=@_-]+$/;

/**
 * A device-mapper name: characters dm does not mangle, not starting with '-' (it would be
 * read as an option), not "." or "..", and short enough for its suffixes.
 */
export function checkDmName(option: string, name: string, suffixLength = 0): string {
  if (name.length === 0) throw new UsageError(`${option} is empty`);
  if (!DM_NAME.test(name)) {
    throw new UsageError(`${option} ${JSON.stringify(name)} has characters device-mapper would mangle`, 'use only letters, digits and # + - . : = @ _');
  }
  if (name.startsWith('-')) throw new UsageError(`${option} ${JSON.stringify(name)} starts with '-'`, 'a name must not look like an option');
  if (/^\.+$/.test(name)) throw new UsageError(`${option} ${JSON.stringify(name)} is not a usable device name`);
  const max = 127 - suffixLength;
  if (Buffer.byteLength(name) > max) throw new UsageError(`${option} is ${Buffer.byteLength(name)} bytes long`, `at most ${max} bytes`);
  return name;
}

/** An absolute, normalised path with no control characters (a newline would inject a table line). */
export function checkPath(option: string, raw: string, cwd: string): string {
  if (raw.length === 0) throw new UsageError(`${option} is empty`);
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new UsageError(`${option} ${JSON.stringify(raw)} contains control characters (newline, tab, ...)`, 'rename the file or directory');
  if (raw.length > 4000) throw new UsageError(`${option} is too long (${raw.length} characters)`);
  return path.resolve(cwd, raw);
}
