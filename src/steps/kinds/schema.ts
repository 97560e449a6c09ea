/**
 * A step kind's argument and output schemas are zod (each kind's module builds them, at
 * their first use: a command that runs no step and checks no file never builds them,
 * docs/PERFORMANCE.md). What `flow check` types a workflow file with (Ty), the README's
 * reference (types, optional, descriptions) and the engine's checks of a step's resolved
 * arguments and recorded outputs all read these schemas.
 *
 * Metadata (`.meta()`) a schema may carry:
 * - `shown`: the type as the reference names it, when not its own (dm.create's table);
 * - `added`: an argument flow sets itself, never written in a file (dm.create's uuid);
 * - `internal`: an output the executor records for itself (a loop's diskseq), that
 *   `steps.NAME.X` may not refer to.
 */
import type { z } from 'zod';
import { StepSchemaError } from '../../errors.js';
import { T, type Ty } from '../../workflow/typecheck.js';

/** A kind's schemas: its resolved arguments, and the outputs its apply records. */
export interface KindSchemas {
  args: z.ZodObject;
  outputs: z.ZodObject;
}

/** `build`, run once at the first call. */
export function lazy<T>(build: () => T): () => T {
  let built: { v: T } | undefined;
  return () => (built ??= { v: build() }).v;
}

interface Meta {
  description?: string;
  shown?: string;
  added?: boolean;
  internal?: boolean;
}
const metaOf = (s: z.ZodType): Meta => (s.meta() ?? {}) as Meta;

/** The parts of a zod schema's definition this module reads. */
interface Def {
  type: string;
  innerType?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  format?: string;
}
const defOf = (s: z.ZodType): Def => s.def as unknown as Def;

/** `s` without its optional and nullable wrappers. */
function unwrapped(s: z.ZodType): z.ZodType {
  let d = defOf(s);
  while ((d.type === 'optional' || d.type === 'nullable') && d.innerType) (s = d.innerType), (d = defOf(s));
  return s;
}

/** The type `flow check` gives a value of schema `s`. */
export function tyOf(s: z.ZodType): Ty {
  const def = defOf(s);
  switch (def.type) {
    case 'string':
      return T.string;
    case 'boolean':
      return T.bool;
    case 'number':
      if (def.format === 'safeint' || def.format === 'int32') return T.int;
      throw new Error(`a step kind's schema holds a number that is not an integer (${def.format ?? 'float'}): workflow values are integers`);
    case 'null':
      return T.null;
    case 'nullable':
      return T.opt(tyOf(def.innerType!));
    case 'optional':
      return tyOf(def.innerType!);
    case 'array':
      return T.list(tyOf(def.element!));
    case 'object':
      return T.record(Object.fromEntries(Object.entries(def.shape!).map(([k, v]) => [k, tyOf(v)])));
    default:
      throw new Error(`a step kind's schema holds a ${def.type}, which workflow values have no type for`);
  }
}

/** One argument as `flow check` and the reference see it. */
export interface ArgSpec {
  ty: Ty;
  /** may be left out */
  optional?: boolean;
  /** what it is, for the README's reference */
  doc: string;
  /** its type as the reference names it, when not `ty`'s name (dm.create's table: segments in a file) */
  shown?: string;
}

const described = (kind: string, what: string, name: string, s: z.ZodType): string => {
  const d = metaOf(s).description;
  if (!d) throw new Error(`${kind}: the ${what} ${name} has no description (.describe()): the reference needs one`);
  return d;
};

/** The arguments a workflow file may write under `with:` (those flow adds left out). */
export function argSpecs(kind: string, args: z.ZodObject): Record<string, ArgSpec> {
  const out: Record<string, ArgSpec> = {};
  for (const [name, s] of Object.entries(args.shape as Record<string, z.ZodType>)) {
    const m = metaOf(s);
    if (m.added) continue;
    out[name] = { ty: tyOf(s), doc: described(kind, 'argument', name, s), ...(defOf(s).type === 'optional' ? { optional: true } : {}), ...(m.shown ? { shown: m.shown } : {}) };
  }
  return out;
}

/** The arguments flow sets itself (dm.create's uuid). */
export const addedArgs = (args: z.ZodObject): string[] => Object.entries(args.shape as Record<string, z.ZodType>).filter(([, s]) => metaOf(s).added).map(([n]) => n);

/** The outputs `steps.NAME.X` may refer to: their types and descriptions. */
export function outputSpecs(kind: string, outputs: z.ZodObject): { types: Record<string, Ty>; docs: Record<string, string> } {
  const types: Record<string, Ty> = {};
  const docs: Record<string, string> = {};
  for (const [name, s] of Object.entries(outputs.shape as Record<string, z.ZodType>)) {
    if (metaOf(s).internal) continue;
    types[name] = tyOf(s);
    docs[name] = described(kind, 'output', name, s);
  }
  return { types, docs };
}

/** The part of `schema` at `path` (an object's field, a list's item, through optional and nullable). */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const k of path) {
    const d: Def | undefined = s && defOf(unwrapped(s));
    s = d?.type === 'object' ? d.shape?.[String(k)] : d?.type === 'array' ? d.element : undefined;
  }
  return s;
}

const isInt = (s: z.ZodType | undefined): boolean => {
  const d = s && defOf(unwrapped(s));
  return d?.type === 'number' && d.format === 'safeint';
};

/** zod's issues as one line: `name: expected an integer, got "12M"; ...` */
export function issuesText(schema: z.ZodType, err: z.ZodError, value: unknown): string {
  return err.issues
    .map((i) => {
      const path = i.path.map(String).join('.');
      let got: unknown = value;
      for (const k of i.path) got = got !== null && typeof got === 'object' ? (got as Record<PropertyKey, unknown>)[k] : undefined;
      if (i.code === 'unrecognized_keys') return `${path ? `${path}: ` : ''}unknown ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
      if (got === undefined) return `${path}: missing`;
      const expected = i.code === 'invalid_type' ? `expected ${isInt(schemaAt(schema, i.path)) ? 'an integer' : `a ${i.expected}`}` : i.message;
      return `${path}: ${expected}, got ${JSON.stringify(got)}`;
    })
    .join('; ');
}

/** `args` as the kind's schema parses them; throws a StepSchemaError naming the step and each argument that does not fit. */
export function checkArgs(schemas: KindSchemas, runId: string, step: string, args: unknown): void {
  const r = schemas.args.safeParse(args);
  if (!r.success) throw new StepSchemaError(runId, step, 'arguments', issuesText(schemas.args, r.error, args));
}

/** Throws a StepSchemaError when the outputs apply returned do not fit the kind's output schema. */
export function checkOutputs(schemas: KindSchemas, runId: string, step: string, outputs: unknown): void {
  const r = schemas.outputs.safeParse(outputs);
  if (!r.success) throw new StepSchemaError(runId, step, 'outputs', issuesText(schemas.outputs, r.error, outputs));
}
