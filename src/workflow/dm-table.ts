/**
 * Device-mapper tables as structured segments. A file never writes a table line: it lists
 * segments (a target and its typed arguments), flow checks every value against its type
 * and renders the lines itself, so no value can add a segment, an argument or an option.
 * Segments follow each other: each starts where the previous one ends (the first at 0).
 */
import type { Value } from './evaluate.js';
import { T, type Ty } from './typecheck.js';

export type FieldKind = 'device' | 'sectors' | 'count' | 'bool' | 'features';

export interface TargetSpec {
  /** fields besides `target`, `sectors` and `when`; `?` marks optional ones */
  fields: Record<string, { kind: FieldKind; optional?: boolean }>;
  /** the table line's arguments, from checked values */
  render(v: Record<string, Value | undefined>): string[];
}

/** In the order the kernel prints them back (`dmsetup table`), so a read-back table compares equal. */
const FLAKEY_FEATURES = ['error_reads', 'drop_writes', 'error_writes'] as const;

export const TARGETS: Readonly<Record<string, TargetSpec>> = {
  linear: { fields: { device: { kind: 'device' }, offset: { kind: 'count' } }, render: (v) => [s(v.device), s(v.offset)] },
  zero: { fields: {}, render: () => [] },
  error: { fields: {}, render: () => [] },
  delay: {
    // the short form (3 arguments) when writes go where reads go, with the same delay
    fields: {
      device: { kind: 'device' },
      offset: { kind: 'count' },
      delay: { kind: 'count' },
      'write-device': { kind: 'device', optional: true },
      'write-offset': { kind: 'count', optional: true },
      'write-delay': { kind: 'count', optional: true },
    },
    render(v) {
      const read = [s(v.device), s(v.offset), s(v.delay)];
      const write = [s(v['write-device'] ?? v.device), s(v['write-offset'] ?? v.offset), s(v['write-delay'] ?? v.delay)];
      return read.join(' ') === write.join(' ') ? read : [...read, ...write];
    },
  },
  snapshot: {
    fields: { origin: { kind: 'device' }, cow: { kind: 'device' }, persistent: { kind: 'bool' }, chunk: { kind: 'count' } },
    render: (v) => [s(v.origin), s(v.cow), v.persistent ? 'P' : 'N', s(v.chunk)],
  },
  'snapshot-origin': { fields: { origin: { kind: 'device' } }, render: (v) => [s(v.origin)] },
  flakey: {
    // up `up` seconds, then down `down` seconds (from the load), and so on; while down: all
    // I/O fails, or what the features say. The kernel prints the feature count always (0
    // without features) and the features in its own order: rendered the same way.
    fields: { device: { kind: 'device' }, offset: { kind: 'count' }, up: { kind: 'count' }, down: { kind: 'count' }, features: { kind: 'features', optional: true } },
    render(v) {
      const given = (v.features as string[] | undefined) ?? [];
      const f = FLAKEY_FEATURES.filter((x) => given.includes(x));
      return [s(v.device), s(v.offset), s(v.up), s(v.down), String(f.length), ...f];
    },
  },
};

const s = (v: Value | undefined) => String(v);

export function fieldType(k: FieldKind): Ty {
  return k === 'device' ? T.string : k === 'bool' ? T.bool : k === 'features' ? T.list(T.string) : T.int;
}

/** A block device as a table names it: major:minor, or an absolute /dev path. */
const DEVICE = /^(?:[0-9]{1,10}:[0-9]{1,10}|\/dev\/[A-Za-z0-9._+@:\/-]{1,200})$/;

/** Checks one evaluated value against its field kind; returns what is wrong, or undefined. */
export function checkField(kind: FieldKind, v: Value): string | undefined {
  switch (kind) {
    case 'device':
      return typeof v === 'string' && DEVICE.test(v) ? undefined : `${JSON.stringify(v)} is not a device (major:minor or /dev/NAME, no spaces)`;
    case 'sectors':
      return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? undefined : `${JSON.stringify(v)} is not a positive number of sectors`;
    case 'count':
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? undefined : `${JSON.stringify(v)} is not a whole number >= 0`;
    case 'bool':
      return typeof v === 'boolean' ? undefined : `${JSON.stringify(v)} is not true or false`;
    case 'features': {
      if (!Array.isArray(v)) return `${JSON.stringify(v)} is not a list`;
      const bad = v.find((x) => typeof x !== 'string' || !(FLAKEY_FEATURES as readonly string[]).includes(x));
      if (bad !== undefined) return `${JSON.stringify(bad)} is not a flakey feature (${FLAKEY_FEATURES.join(', ')})`;
      if (new Set(v).size !== v.length) return 'a feature is listed twice';
      if (v.includes('drop_writes') && v.includes('error_writes')) return 'drop_writes and error_writes exclude each other (writes are either dropped or failed)';
      return undefined;
    }
  }
}

export interface EvaluatedSegment {
  target: string;
  sectors: Value;
  fields: Record<string, Value | undefined>;
}

/** Table lines from evaluated segments; throws Error naming the segment and field. */
/** `flow plan`'s stand-in for a device the kernel picks when an earlier step runs (src/steps/kinds/placeholders.ts). */
const PLAN_PLACEHOLDER = /^<[a-z: ]+ of [a-z0-9-]+>$/;

/** `plan`: a table for `flow plan`, whose devices may be placeholders (never run). */
export function renderTable(segments: EvaluatedSegment[], plan = false): string[] {
  let start = 0;
  const lines: string[] = [];
  for (const [i, seg] of segments.entries()) {
    const spec = TARGETS[seg.target];
    if (!spec) throw new Error(`segment ${i + 1}: unknown target ${JSON.stringify(seg.target)}`);
    const bad = checkField('sectors', seg.sectors);
    if (bad) throw new Error(`segment ${i + 1} (${seg.target}): sectors: ${bad}`);
    for (const [name, f] of Object.entries(spec.fields)) {
      const v = seg.fields[name];
      if (v === undefined || (v === null && f.optional)) {
        if (!f.optional) throw new Error(`segment ${i + 1} (${seg.target}): ${name} is missing`);
        delete seg.fields[name];
        continue;
      }
      const e = plan && f.kind === 'device' && typeof v === 'string' && PLAN_PLACEHOLDER.test(v) ? undefined : checkField(f.kind, v);
      if (e) throw new Error(`segment ${i + 1} (${seg.target}): ${name}: ${e}`);
    }
    if (seg.target === 'flakey' && seg.fields.up === 0 && seg.fields.down === 0) throw new Error(`segment ${i + 1} (flakey): up and down are both 0 (the kernel needs an interval)`);
    const sectors = seg.sectors as number;
    lines.push([String(start), String(sectors), seg.target, ...spec.render(seg.fields)].join(' '));
    start += sectors;
    if (!Number.isSafeInteger(start)) throw new Error('the table is too large');
  }
  if (lines.length === 0) throw new Error('the table has no segment (every segment was left out by its `when`)');
  return lines;
}
