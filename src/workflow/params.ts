/**
 * Params of a workflow file: each typed, required or with a default, described. Each is a
 * CLI option `--NAME` (the param's name is already kebab-case); a boolean whose default is
 * true is the switch `--no-NAME`. What a param's value looks like inside expressions (its
 * static type) depends on its type: the types that name a file, a directory or a partition
 * stand for what flow found there before the run, e.g. `params.image.identity`.
 */
import { z } from '../zod.js';
import type { OptionSpec } from '../../machines/types.js';
import { UsageError } from '../errors.js';
import { checkDmName, checkPath, formatSize, parseInteger, parseSize, quote } from '../preflight/values.js';
import { T, type Ty } from './typecheck.js';

export const NAME_RE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
export const nameSchema = z.string().regex(NAME_RE, { message: 'a name is lower-case words joined by -' });

/** A refusal as soon as its param is known (before later params are looked up on the host): the shape of a workflow's `checks:` entry. */
export const paramCheckSchema = z.strictObject({
  when: z.union([z.string().min(1), z.boolean()]),
  message: z.string().min(1),
  hint: z.string().min(1).optional(),
});

/**
 * A partition found through an fstab: the partition that /etc/fstab on the filesystem of
 * partition param `in` mounts at the place string param `at` gives, or (`at` left empty)
 * at the first of `places` the fstab has.
 */
const fstabSchema = z.strictObject({
  in: nameSchema,
  at: nameSchema,
  places: z
    .array(z.string().refine(isPathInImage, { message: 'a place is an absolute path inside the image (letters, digits and . _ + - /, no . or .. component)' }))
    .min(1)
    .max(16),
});

const base = {
  description: z.string().min(1),
  /** refusals as soon as this param is known (they may read it and the params before it) */
  checks: z.array(paramCheckSchema).max(64).optional(),
  required: z.literal(true).optional(),
  /** a literal in the option's own syntax (e.g. 1G), or a template such as flow-${run.id} */
  default: z.union([z.string(), z.number().int(), z.boolean()]).optional(),
  /** how help shows the default when it is not a plain value */
  'default-text': z.string().optional(),
  /** the option's metavariable in help (e.g. MS) */
  'value-name': z.string().regex(/^[A-Z][A-Z0-9_-]*$/).optional(),
};

const intBounds = { min: z.number().int().optional(), max: z.number().int().optional() };

export const paramSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('path'), ...base }),
  z.strictObject({ type: z.literal('existing-file'), ...base }),
  z.strictObject({ type: z.literal('file'), ...base }),
  z.strictObject({ type: z.literal('directory'), ...base }),
  z.strictObject({ type: z.literal('size'), ...base, ...intBounds, 'multiple-of': z.number().int().positive().optional(), why: z.string().optional() }),
  z.strictObject({
    type: z.literal('integer'),
    ...base,
    ...intBounds,
    'power-of-two': z.boolean().optional(),
    /** the hint of every refusal of a value (default: "use a number from MIN to MAX") */
    hint: z.string().min(1).optional(),
  }),
  z.strictObject({ type: z.literal('boolean'), ...base }),
  z.strictObject({
    type: z.literal('string'),
    ...base,
    pattern: z.string().max(200).optional(),
    'max-length': z.number().int().positive().max(4096).optional(),
    /**
     * dm-name: a device-mapper device name, refused with device-mapper's own rules and messages;
     * path-in-image: an absolute path inside a filesystem (no . or .. component), normalised
     */
    format: z.enum(['dm-name', 'path-in-image']).optional(),
  }),
  z.strictObject({ type: z.literal('one-of'), ...base, choices: z.array(z.string().min(1)).min(1) }),
  z.strictObject({ type: z.literal('partition'), ...base, of: nameSchema, fstab: fstabSchema.optional() }),
]);
export type ParamDef = z.infer<typeof paramSchema>;
export type ParamType = ParamDef['type'];
export const PARAM_TYPES: readonly ParamType[] = ['path', 'existing-file', 'file', 'directory', 'size', 'integer', 'boolean', 'string', 'one-of', 'partition'];

const identity = T.record({ dev: T.string, ino: T.int });
/**
 * What flow found in a file before the run: the filesystem it holds (its type, e.g. ext4, or
 * null), the bytes that filesystem claims (0 when none or unknown), the loop device it is
 * attached at (null when none), and one that has it attached read-write (null when none).
 */
const fileFacts = { filesystem: T.opt(T.string), 'filesystem-size': T.int, attached: T.opt(T.string), 'attached-read-write': T.opt(T.string) };
/** a file param's path may be new: `room`, the size of the filesystem that holds (or would hold) it, 0 when unknown */
const room = { room: T.int };

/** What `params.NAME` is inside expressions. */
export function paramType(p: ParamDef): Ty {
  switch (p.type) {
    case 'path':
    case 'string':
    case 'one-of':
      return T.string;
    case 'size':
    case 'integer':
      return T.int;
    case 'boolean':
      return T.bool;
    case 'existing-file':
      // a regular file that exists: its real path, identity (device and inode) and size in bytes
      return T.record({ path: T.string, identity, size: T.int, ...fileFacts });
    case 'file':
      // a file that may exist: when it does, its identity and size; when not, identity null and size 0
      return T.record({ path: T.string, identity: T.opt(identity), size: T.int, ...fileFacts, ...room });
    case 'directory':
      // a directory to use (e.g. a mount point): its real path, whether it exists, the missing directories top-down
      return T.record({ path: T.string, exists: T.bool, create: T.list(T.string) });
    case 'partition':
      // a partition of an existing-file param (number null: a whole image without a table), in 512-byte sectors;
      // its filesystem's type (null: none flow recognises), block size and the bytes it claims (0: unknown)
      // found through an fstab: where it is mounted inside the filesystem that fstab is on, and how it was found
      // (e.g. "/etc/fstab: PARTUUID=5452574f-01", or "--boot-partition")
      return T.record({
        number: T.opt(T.int),
        start: T.int,
        sectors: T.int,
        filesystem: T.opt(T.string),
        'block-size': T.int,
        'filesystem-size': T.int,
        ...(p.fstab ? { 'mounted-at': T.string, 'found-by': T.string } : {}),
      });
  }
}

const VALUE_NAMES: Record<ParamType, string | undefined> = {
  path: 'PATH',
  'existing-file': 'FILE',
  file: 'PATH',
  directory: 'DIR',
  size: 'SIZE',
  integer: 'N',
  boolean: undefined,
  string: 'VALUE',
  'one-of': 'VALUE',
  partition: 'N',
};

/**
 * The key commander gives the option of a param (or a flag): "read-delay" and "--read-delay"
 * → "readDelay", "disk-2" → "disk2" (commander upper-cases each word's first character).
 * The one place flow goes between param names and option keys.
 */
export function optionKey(name: string): string {
  return name
    .replace(/^--/, '')
    .split('-')
    .map((w, i) => (i === 0 ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join('');
}

/** "read-delay" as a CLI option. */
export function optionOf(name: string, p: ParamDef): OptionSpec {
  if (p.type === 'boolean') {
    const on = p.default === true;
    return { flag: on ? `--no-${name}` : `--${name}`, description: p.description };
  }
  const o: OptionSpec = { flag: `--${name}`, value: p['value-name'] ?? VALUE_NAMES[p.type], description: p.description };
  const shown = p['default-text'] ?? shownDefault(p.default);
  if (shown !== undefined) o.default = shown;
  if (p.required) o.required = true;
  return o;
}

/** A default as help shows it: run facts as placeholders; one that depends on other params is not shown. */
function shownDefault(d: ParamDef['default']): string | undefined {
  if (d === undefined) return undefined;
  const s = String(d);
  if (/\$\{\s*(params|values|steps)\./.test(s)) return undefined;
  return s.replace(/\$\{\s*run\.id\s*\}/g, '<id>').replace(/\$\{\s*run\.dir\s*\}/g, '/run/flow');
}

/**
 * A scalar param's value from the command line (a string, or a boolean for a switch),
 * checked with the same parsers and messages as today's options (src/preflight/values.ts).
 * The types that stand for what is on the host (existing-file, file, directory, partition)
 * are resolved by a preflight that reads the host, not here.
 */
export function parseScalarParam(name: string, p: ParamDef, raw: string | boolean | number, cwd: string): string | number | boolean {
  const opt = `--${name}`;
  if (p.type === 'boolean') {
    if (typeof raw !== 'boolean') throw new UsageError(`${opt} is a switch and takes no value`, `write ${optionOf(name, p).flag} alone`);
    return raw;
  }
  if (typeof raw === 'boolean') throw new UsageError(`${opt} needs a value`, `e.g. ${opt} ${VALUE_NAMES[p.type] ?? 'VALUE'}`);
  const s = String(raw);
  switch (p.type) {
    case 'size': {
      const n = parseSize(opt, s, { multipleOf: p['multiple-of'], min: p.min, why: p.why });
      if (p.max !== undefined && n > p.max) throw new UsageError(`${opt} ${s} is too large`, `at most ${formatSize(p.max)}`);
      return n;
    }
    case 'integer': {
      const min = p.min ?? 0;
      const max = p.max ?? Number.MAX_SAFE_INTEGER;
      const hint = p.hint ?? (p['power-of-two'] ? `use a power of two from ${min} to ${max}` : `use a number from ${min} to ${max}`);
      const n = parseInteger(opt, s, min, max, hint);
      if (p['power-of-two'] && (n & (n - 1)) !== 0) throw new UsageError(`${opt} ${n} is not a power of two`, hint);
      return n;
    }
    case 'string': {
      // a device-mapper name: device-mapper's rules and messages first (what the built-ins always said);
      // a max-length under dm's 127 bytes is the room left for the suffixes the workflow adds
      if (p.format === 'dm-name') checkDmName(opt, s, Math.max(0, 127 - (p['max-length'] ?? 127)));
      if (s === '' && p.default === '') return s; // optional: left out (as a file param whose default is '')
      if (p.format === 'path-in-image') return pathInImage(opt, s);
      if (/[\x00-\x1f\x7f]/.test(s)) throw new UsageError(`${opt} ${quote(s)} contains control characters (newline, tab, ...)`, 'leave them out');
      if (s.length === 0) throw new UsageError(`${opt} is empty`, `leave out ${opt} for the default, or give a value`);
      const maxLen = p['max-length'] ?? 4096;
      if (Buffer.byteLength(s) > maxLen) throw new UsageError(`${opt} is ${Buffer.byteLength(s)} bytes long`, `at most ${maxLen} bytes`);
      if (p.pattern !== undefined && !new RegExp(`^(?:${p.pattern})$`, 'u').test(s)) throw new UsageError(`${opt} ${quote(s)} is not accepted`, `it must match ${p.pattern}`);
      return s;
    }
    case 'one-of':
      if (!p.choices.includes(s)) throw new UsageError(`${opt} ${quote(s)} is not one of the choices`, `use one of: ${p.choices.join(', ')}`);
      return s;
    case 'path':
      return checkPath(opt, s, cwd);
    default:
      throw new Error(`${opt}: a ${p.type} param is resolved by reading the host (preflight), not parsed alone`);
  }
}

/** An absolute path inside a filesystem (e.g. /boot/firmware): letters, digits and . _ + - /, no . or .. component, not / itself. */
function isPathInImage(s: string): boolean {
  const parts = s.split('/');
  return /^\/[A-Za-z0-9._/+-]*$/.test(s) && !parts.some((c) => c === '.' || c === '..') && s.length <= 255 && !parts.every((c) => c === '');
}

/** A path-in-image option's value, normalised (no doubled or trailing /). */
function pathInImage(opt: string, s: string): string {
  const parts = s.split('/');
  if (!isPathInImage(s)) {
    throw new UsageError(`${opt} ${quote(s)} is not a directory inside the image`, 'give an absolute path such as /boot/firmware or /boot (letters, digits and . _ + - /)');
  }
  return '/' + parts.filter(Boolean).join('/');
}
