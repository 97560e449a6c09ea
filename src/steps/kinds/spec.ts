/**
 * What flow knows about one kind of step, beside its executor (apply / probe / clean / undo
 * and the exact commands, src/steps/types.ts): what a workflow file may write under `with:`
 * and refer to in `steps.NAME.X` (for `flow check`), whether its effect survives a reboot,
 * its inverse or why it has none, what `flow plan` shows for outputs only a run knows, and
 * what `flow show` draws. Its arguments and outputs are zod schemas (src/steps/kinds/schema.ts),
 * built at their first use; `args`, `outputs`, `outputDocs` and `added` are views of them.
 * One module per kind holds its spec and its executor
 * (src/steps/kinds/<kind>.ts); src/steps/kinds/index.ts collects them.
 */
import type { Json, StepKind } from '../../../machines/types.js';
import type { STEP_POINTS } from '../../engine/crash-points.js';
import type { Kernel } from '../../kernel/types.js';
import type { Ty } from '../../workflow/typecheck.js';
import { addedArgs, argSpecs, outputSpecs, type ArgSpec, type KindSchemas } from './schema.js';

export type { ArgSpec, KindSchemas };

/** Kinds with an inverse: rollback undoes the effect. Others: why not, for people. */
export type Inverse =
  | { undo: string }
  | {
      /** `flow plan`'s line where the undo command would be */
      none: string;
      /** why rollback skips the step (recorded in the journal's StepSkipped event) */
      skip: string;
    };

/**
 * When the step's "command running" crash point fires: right before the executor's
 * apply (`before`), where the executor itself says its compound effect is half done
 * (`executor`), or where the kernel wrapper does (`kernel`: dm.create, between create and load).
 */
export type Midpoint = 'before' | 'executor' | 'kernel';

/** A named crash point of a step (src/engine/crash-points.ts), without the `apply:<step>:` prefix. */
export type StepPoint = (typeof STEP_POINTS)[number];

/**
 * A kind whose device carries no mark of the run (a loop, a zram device): after a process
 * crash at one of `operatorWindow`'s points of its step, the kernel may hold a device that
 * nothing tells from one another program made in that window, and recovery stops for the
 * operator (`flow verify` checks it stops nowhere else, and plants such devices).
 */
export interface Unmarked {
  operatorWindow: readonly StepPoint[];
}

/** What a kind's preflight gets: this host (read only), and how to name where an argument came from. */
export interface KindPreflightEnv {
  kernel: Kernel;
  /** the option a step's argument comes from (`--name`), else the step's argument (`step create-delay: name`) */
  option(arg: string): string;
}

/** What `flow show` draws for the kind (kinds without one draw nothing). */
export interface ShowSpec {
  /** the node `flow show` draws (src/cli/show/nodes.ts): a file the run made, a loop or zram device, a dm device, a mount point */
  node: 'file' | 'loop' | 'dm' | 'zram' | 'mountpoint';
  /**
   * The values in the step's arguments that name what the node is made from (a major:minor,
   * a file path), in order: the first one another step made, or an input file, places the
   * node below that one. A dm snapshot's second is its COW.
   */
  from(args: Json): string[];
  /** its objects carry the run's mark (a dm UUID): one left behind is certain, so it is probed also when the journal says it is gone */
  marked?: boolean;
}

export interface KindSpec {
  kind: StepKind;
  /** one line for the README's reference */
  summary: string;
  /** the effect survives a reboot (files); volatile effects (loop, dm, zram, mount) do not */
  durable: boolean;
  /** the zod schemas of its resolved arguments and of the outputs apply records (built once, at the first call) */
  schemas(): KindSchemas;
  /** what a workflow file may write under `with:` (from `schemas().args`) */
  readonly args: Readonly<Record<string, ArgSpec>>;
  /** arguments flow adds itself (never written in a file): dm.create's ownership UUID (`.meta({ added: true })`) */
  readonly added: readonly string[];
  /** what `steps.NAME.X` may refer to (from `schemas().outputs`, its `internal` outputs left out) */
  readonly outputs: Readonly<Record<string, Ty>>;
  /** what each output is, for the README's reference (the outputs' descriptions) */
  readonly outputDocs: Readonly<Record<string, string>>;
  inverse: Inverse;
  midpoint: Midpoint;
  /**
   * The outputs the step will have once applied with `args`, for `flow plan`: what the
   * kernel picks when it runs (loop, dm, zram numbers) is `p(what)`, a visible placeholder
   * naming the step; what the arguments already fix (a dm name, a path) is the value.
   */
  placeholders(args: Json, p: (what: string) => string): Json;
  show?: ShowSpec;
  unmarked?: Unmarked;
  /**
   * Paths of this host a step of the kind uses that no param of a workflow need name (a
   * bind mount's source, and its target below a param's directory): `flow verify`'s
   * simulated host mirrors them as it does the params' paths.
   */
  hostPaths?(args: Json): string[];
  /**
   * Refuses (UsageError, exit 2) a step whose effect this host rules out, before anything
   * changes: run by every workflow's preflight on its resolved steps (src/preflight/kinds.ts),
   * so a workflow file gets the refusal and message a built-in does. `args` may hold
   * placeholders for what earlier steps make ("<loop major:minor of attach-file>").
   */
  preflight?(args: Json, env: KindPreflightEnv): Promise<void>;
  /** what `preflight` refuses, for the reference (with it, never without) */
  refuses?: string;
}

/** True when the kind's effect has an inverse that rollback runs. */
export const hasInverse = (s: KindSpec): boolean => 'undo' in s.inverse;

/** What a kind's module writes: its spec without the views of its schemas. */
export type KindDef = Omit<KindSpec, 'args' | 'added' | 'outputs' | 'outputDocs'>;

/** The kind's spec: `def` and the views of its zod schemas, each derived at its first read. */
export function defineKind(def: KindDef): KindSpec {
  let views: { args: Record<string, ArgSpec>; added: string[]; outputs: Record<string, Ty>; outputDocs: Record<string, string> } | undefined;
  const v = () => {
    if (!views) {
      const { args, outputs } = def.schemas();
      const o = outputSpecs(def.kind, outputs);
      views = { args: argSpecs(def.kind, args), added: addedArgs(args), outputs: o.types, outputDocs: o.docs };
    }
    return views;
  };
  return Object.defineProperties({ ...def } as KindSpec, {
    args: { get: () => v().args, enumerable: true },
    added: { get: () => v().added, enumerable: true },
    outputs: { get: () => v().outputs, enumerable: true },
    outputDocs: { get: () => v().outputDocs, enumerable: true },
  });
}
