/**
 * Parsing, validation and normalisation of device-mapper tables, with the kernel's
 * rules: segments contiguous from 0, known targets with the right arguments, referenced
 * devices must exist (ENXIO) and be large enough (EINVAL "too small for target"),
 * segments aligned to the table's logical block size, snapshot chunk a power of two ≥ 8
 * and a multiple of the COW's block size.
 */
import { kerr } from './context.js';
import { deviceSize, findDevice, logicalBlockSize, tableBlockSize } from './devices.js';
import { LOOP_MAJOR, type DmTarget, type KernelState } from './state.js';

/** Targets the fake knows, as `dmsetup targets` lists them. */
export const DM_TARGETS = [
  { name: 'snapshot-origin', version: '1.9.0' },
  { name: 'snapshot', version: '1.16.0' },
  { name: 'flakey', version: '1.5.0' },
  { name: 'delay', version: '1.4.0' },
  { name: 'zero', version: '1.2.0' },
  { name: 'error', version: '1.6.0' },
  { name: 'linear', version: '1.4.0' },
];

const INT = /^\d+$/;
const UINT_MAX = 2 ** 32 - 1;

/** An unsigned 32-bit argument (dm_read_arg's range). */
function uint(value: string | undefined, what: string, line: string): number {
  const n = Number(int(value, what, line));
  if (n > UINT_MAX) throw kerr('EINVAL', `Invalid ${what} in table line "${line}"`);
  return n;
}

/**
 * dm-flakey 1.5.0's features (Linux 6.1, the lab's kernel): `drop_writes` or `error_writes`
 * (not both). `error_reads` came with Linux 6.5: this kernel answers "Unrecognised flakey
 * feature requested", and so does the fake. Returned as `dmsetup table` prints them: the
 * count always (0 without features), then the features.
 */
function flakeyFeatures(args: string[], line: string): string[] {
  if (args.length === 0) return ['0'];
  const n = Number(int(args[0], 'feature count', line));
  if (n > 7) throw kerr('EINVAL', `flakey: Invalid number of feature args in table line "${line}"`);
  if (args.length - 1 < n) throw kerr('EINVAL', `flakey: Insufficient feature arguments in table line "${line}"`);
  if (args.length - 1 > n) throw kerr('EINVAL', `flakey: wrong number of arguments in table line "${line}"`);
  const set = new Set<string>();
  for (const f of args.slice(1)) {
    const name = f.toLowerCase();
    if (name !== 'drop_writes' && name !== 'error_writes') throw kerr('EINVAL', `flakey: Unrecognised flakey feature requested (${f}) in table line "${line}"`);
    if (set.has(name)) throw kerr('EINVAL', `flakey: Feature ${name} duplicated in table line "${line}"`);
    set.add(name);
  }
  if (set.size === 2) throw kerr('EINVAL', `flakey: Feature drop_writes conflicts with feature error_writes in table line "${line}"`);
  return [String(set.size), ...set];
}

function int(value: string | undefined, what: string, line: string): string {
  if (value === undefined || !INT.test(value)) throw kerr('EINVAL', `invalid ${what} in table line "${line}"`);
  return String(Number(value));
}

/** Resolves a device argument (major:minor or /dev path) to major:minor; ENXIO when absent. */
function device(state: KernelState, ref: string | undefined, line: string): string {
  if (ref === undefined) throw kerr('EINVAL', `missing device in table line "${line}"`);
  const dev = findDevice(state, ref);
  if (!dev) {
    // an unbound loop device still exists (size 0): the kernel accepts it in a table
    const m = /^(?:7:|\/dev\/loop)(\d+)$/.exec(ref);
    if (m && Number(m[1]) < (state.loopNodes ?? 0)) return `${LOOP_MAJOR}:${Number(m[1])}`;
  }
  if (!dev) throw kerr('ENXIO', `device ${ref} in table line "${line}" does not exist (No such device or address)`);
  return dev.majmin;
}

/**
 * Checks that `ref` has `bytes` bytes from `offsetSectors` on (the kernel's
 * device_area_is_invalid, which lets a device of size 0 pass: an unbound loop, a dm
 * device without a table).
 */
function fits(state: KernelState, majmin: string, offsetSectors: string, lengthSectors: number, line: string): void {
  const dev = findDevice(state, majmin);
  const size = dev ? deviceSize(dev) : 0;
  if (dev && size > 0 && (Number(offsetSectors) + lengthSectors) * 512 > size) {
    throw kerr('EINVAL', `${dev.node} too small for target in table line "${line}"`);
  }
}

function parseArgs(state: KernelState, type: string, args: string[], length: number, line: string): string[] {
  const argc = (ok: boolean) => {
    if (!ok) throw kerr('EINVAL', `${type}: wrong number of arguments in table line "${line}"`);
  };
  switch (type) {
    case 'zero':
      argc(args.length === 0);
      return [];
    case 'error':
      // io_err_ctr takes any arguments and keeps none: `dmsetup table` shows "error" alone
      return [];
    case 'linear': {
      argc(args.length === 2);
      const out = [device(state, args[0], line), int(args[1], 'offset', line)];
      fits(state, out[0]!, out[1]!, length, line);
      return out;
    }
    case 'delay': {
      argc(args.length === 3 || args.length === 6 || args.length === 9);
      const out: string[] = [];
      for (let i = 0; i < args.length; i += 3) {
        out.push(device(state, args[i], line), int(args[i + 1], 'offset', line), int(args[i + 2], 'delay', line));
        fits(state, out[i]!, out[i + 1]!, length, line);
      }
      return out;
    }
    case 'flakey': {
      argc(args.length >= 4);
      const up = uint(args[2], 'up interval', line);
      const down = uint(args[3], 'down interval', line);
      if (up + down === 0) throw kerr('EINVAL', `flakey: Total (up + down) interval is zero in table line "${line}"`);
      if (up + down > UINT_MAX) throw kerr('EINVAL', `flakey: Interval overflow in table line "${line}"`);
      const out = [device(state, args[0], line), int(args[1], 'offset', line), String(up), String(down)];
      out.push(...flakeyFeatures(args.slice(4), line));
      fits(state, out[0]!, out[1]!, length, line);
      return out;
    }
    case 'snapshot-origin': {
      argc(args.length === 1);
      const origin = device(state, args[0], line);
      fits(state, origin, '0', length, line);
      return [origin];
    }
    case 'snapshot': {
      argc(args.length === 4);
      const origin = device(state, args[0], line);
      const cow = device(state, args[1], line);
      const mode = (args[2] ?? '').toUpperCase();
      if (!['P', 'PO', 'N'].includes(mode)) throw kerr('EINVAL', `snapshot: invalid persistence "${args[2]}" in table line "${line}"`);
      const chunk = Number(int(args[3], 'chunk size', line));
      if (chunk < 8 || (chunk & (chunk - 1)) !== 0) throw kerr('EINVAL', `snapshot: chunk size ${chunk} is not a power of two >= 8`);
      const cowDev = findDevice(state, cow);
      if (cowDev && (chunk * 512) % logicalBlockSize(state, cowDev) !== 0) {
        throw kerr('EINVAL', `snapshot: chunk size is not a multiple of the COW device's block size`);
      }
      fits(state, origin, '0', length, line);
      return [origin, cow, mode, String(chunk)];
    }
    default:
      throw kerr('EINVAL', `unknown target type "${type}" in table line "${line}"`);
  }
}

/** Parses and validates table lines; EINVAL or ENXIO as the kernel's table load would fail. */
export function parseTable(state: KernelState, lines: readonly string[]): DmTarget[] {
  if (lines.length === 0) throw kerr('EINVAL', 'empty table');
  const table: DmTarget[] = [];
  let next = 0;
  for (const raw of lines) {
    if (raw.includes('\n')) throw kerr('EINVAL', `table line contains a newline: ${JSON.stringify(raw)}`);
    const line = raw.trim();
    const [start, length, type, ...args] = line.split(/\s+/);
    const s = Number(int(start, 'start', line));
    const n = Number(int(length, 'length', line));
    if (s !== next) throw kerr('EINVAL', `gap or overlap in table: segment starts at ${s}, expected ${next}`);
    if (n === 0) throw kerr('EINVAL', `zero-length segment in table line "${line}"`);
    if (type === undefined) throw kerr('EINVAL', `missing target type in table line "${line}"`);
    table.push({ start: s, length: n, type, args: parseArgs(state, type, args, n, line) });
    next = s + n;
  }
  const lbs = tableBlockSize(state, table) / 512;
  for (const t of table) {
    if (t.start % lbs !== 0 || t.length % lbs !== 0) {
      throw kerr('EINVAL', `segment ${t.start}+${t.length} is not aligned to the logical block size ${lbs * 512} (alignment inconsistency)`);
    }
  }
  return table;
}

/** Table lines as `dmsetup table` prints them. */
export function formatTable(table: readonly DmTarget[]): string[] {
  return table.map((t) => [t.start, t.length, t.type, ...t.args].join(' '));
}
