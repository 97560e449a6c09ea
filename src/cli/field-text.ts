/**
 * A run's params and a step's outputs as `flow plan` and `flow show` print them on the
 * terminal: `key=value` words, not JSON (`--json` gives every record whole). A record that
 * names a path (a file or mount point param) is its path followed by what flow found there;
 * nothing empty (null) is printed; sizes also in units when they are whole.
 */
import { formatSize } from '../preflight/values.js';

const SIZE_KEY = /(^|-)size$/i;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function scalar(key: string, v: unknown): string {
  if (typeof v === 'number' && SIZE_KEY.test(key) && v >= 1024 && formatSize(v) !== String(v)) return `${v} (${formatSize(v)})`;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** One value: a list of paths or words joined by commas, a record as its fields, anything else as JSON. */
function valueText(key: string, v: unknown): string {
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string' || typeof x === 'number')) return v.join(',');
    if (v.every((x) => isRecord(x) && typeof x.path === 'string')) return v.map((x) => (x as { path: string }).path).join(',');
    return JSON.stringify(v);
  }
  if (isRecord(v)) return fieldsText(v);
  return scalar(key, v);
}

/** `k=v k=v`: a record's fields, those that are null left out, a nested record's fields in line. */
export function fieldsText(r: Record<string, unknown>): string {
  return Object.entries(r)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => (isRecord(v) ? fieldsText(v) : `${k}=${valueText(k, v)}`))
    .join(' ');
}

/** A param's value: a record that names a path is the path, then what flow found there. */
export function paramText(key: string, v: unknown): string {
  if (isRecord(v) && typeof v.path === 'string') {
    const { path, ...rest } = v;
    const found = fieldsText(rest);
    return found ? `${path}  ${found}` : path;
  }
  return valueText(key, v);
}
