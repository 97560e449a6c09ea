/**
 * A step executor: how one kind of step is applied, probed, cleaned and undone against
 * the kernel. The runner (src/engine/runner.ts) calls these; they never touch the journal.
 */
import type { Json } from '../../machines/types.js';
import type { Kernel } from '../kernel/types.js';

/**
 * What a probe found. `unknown`: it cannot decide (several candidates, or a device flow
 * cannot tell from another program's); an operator must. Its `commands`, when given, are
 * this step's exact undo commands for each candidate (they replace the generic ones in
 * the operator's list).
 */
export type ProbeResult =
  | { found: 'applied'; outputs: Json }
  | { found: 'absent'; detail?: string }
  | { found: 'partial'; detail: string }
  | { found: 'unknown'; detail: string; commands?: string[] };

export interface StepEnv {
  kernel: Kernel;
  /** called while a compound effect is half done (a crash test stops there) */
  midpoint(): void;
}

export interface Executor<A extends Json = Json> {
  /** Hold the host-wide allocation lock from `observe` until the outcome is durable. */
  allocates?: boolean;
  /** Facts recorded in the intent (the ownership marker), e.g. which zram ids existed. */
  observe?(args: A, env: StepEnv): Promise<Json>;
  apply(args: A, marker: Json, env: StepEnv): Promise<Json>;
  /** Settles a step in doubt by asking the kernel; `outputs` when the step had succeeded. */
  probe(args: A, marker: Json, outputs: Json | undefined, env: StepEnv): Promise<ProbeResult>;
  /** Brings a partial effect to absent (`outputs`: what the step recorded, when it had succeeded). */
  clean(args: A, marker: Json, env: StepEnv, outputs?: Json): Promise<void>;
  /** Undoes an applied effect (kinds without an inverse never get here). */
  undo(args: A, outputs: Json, env: StepEnv): Promise<void>;
  /** The shell commands equivalent to apply and undo, for `flow plan` and operator messages. */
  commands(args: A, outputs?: Json): { apply: string[]; undo: string[] };
}

/** Quotes one word for a human-readable shell line (never executed by flow). */
export function sh(word: string | number): string {
  const s = String(word);
  return /^[A-Za-z0-9_\-.,:/@%+=]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function line(...words: (string | number)[]): string {
  return words.map(sh).join(' ');
}

export function str(j: Json | undefined, key: string): string {
  const v = j?.[key];
  if (typeof v !== 'string') throw new Error(`missing ${key}`);
  return v;
}

export function num(j: Json | undefined, key: string): number {
  const v = j?.[key];
  if (typeof v !== 'number') throw new Error(`missing ${key}`);
  return v;
}
