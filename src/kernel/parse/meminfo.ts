/** Parses /proc/meminfo. Pure. */
import { parseError } from './values.js';

/** MemTotal in bytes ("MemTotal:       24684092 kB" → 24684092 × 1024). */
export function parseMemTotal(text: string): number {
  const m = /^MemTotal:\s+(\d+)\s*kB\s*$/m.exec(text);
  if (!m) throw parseError('/proc/meminfo', 'no MemTotal line');
  return Number(m[1]) * 1024;
}
