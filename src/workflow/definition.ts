/**
 * The shape of a workflow file (zod), and what `flow check` compiles it into: the typed
 * definition with every expression parsed. Positions stay with the nodes so that every
 * later error can name file:line:column.
 */
import { z } from '../zod.js';
import type { StepKind } from '../../machines/types.js';
import type { Ast, Template } from './expr.js';
import type { Value } from './evaluate.js';
import { KIND_NAMES } from './kinds.js';
import { nameSchema, paramCheckSchema, paramSchema, type ParamDef } from './params.js';
import type { PNode } from './nodes.js';

const scalar = z.union([z.string(), z.number().int(), z.boolean(), z.null()]);

export const stepSchema = z.strictObject({
  name: nameSchema,
  kind: z.enum(KIND_NAMES as [StepKind, ...StepKind[]]),
  title: z.string().min(1),
  when: z.union([z.string().min(1), z.boolean()]).optional(),
  with: z.record(z.string(), z.unknown()).optional(),
});

/** A refusal before anything changes: when `when` holds for the params, the run is refused with `message` (and `hint`). */
export const checkSchema = paramCheckSchema;

export const definitionSchema = z.strictObject({
  name: nameSchema,
  version: z.number().int().positive().optional(),
  description: z.string().min(1),
  examples: z.array(z.string()).optional(),
  params: z.record(nameSchema, paramSchema).optional(),
  values: z.record(nameSchema, scalar).optional(),
  checks: z.array(checkSchema).optional(),
  steps: z.array(stepSchema).min(1),
  outputs: z.record(nameSchema, z.string()).optional(),
});
export type Definition = z.infer<typeof definitionSchema>;

/** A `with:` value: a template (any string), a literal, or a map or list of those. */
export type ArgNode =
  | { t: 'tpl'; tpl: Template; node: PNode }
  | { t: 'lit'; v: Value; node: PNode }
  | { t: 'map'; entries: [string, ArgNode][]; node: PNode }
  | { t: 'list'; items: ArgNode[]; node: PNode };

export interface Segment {
  target: string;
  sectors: ArgNode;
  when?: Ast;
  fields: [string, ArgNode][];
  node: PNode;
}

/** A compiled `checks:` entry (of the workflow, or of a param). */
export interface CompiledCheck {
  when: Ast;
  message: ArgNode;
  hint?: ArgNode;
  /** a param's own check: refuses as soon as that param is known, before later params are looked up */
  param?: string;
}

export interface CompiledStep {
  name: string;
  kind: StepKind;
  durable: boolean;
  title: ArgNode;
  when?: Ast;
  /** the condition's source, for messages */
  whenText?: string;
  args: [string, ArgNode][];
  /** dm.create: the table's segments (args has no `table`) */
  table?: Segment[];
}

/** A checked workflow file: what resolve.ts turns into steps with params. */
export interface Workflow {
  name: string;
  version: number;
  description: string;
  examples: string[];
  /** in file order */
  params: [string, ParamDef, ArgNode | undefined][];
  values: [string, ArgNode][];
  /** refusals before anything changes: each param's own (`param` set) as soon as it is known, then the workflow's over params and values, in file order */
  checks: CompiledCheck[];
  steps: CompiledStep[];
  outputs: [string, ArgNode][];
  /** where it was read from */
  source: string;
}
