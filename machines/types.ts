/**
 * Workflow definitions: pure descriptions of a run's steps. No I/O, no clock, no random:
 * everything a step needs comes from the run's params (resolved and recorded before the
 * run starts) and the outputs of earlier steps.
 */

import { z } from '../src/zod.js';

/** The kinds of step; each is one module in src/steps/kinds/ (its spec and its executor). */
export type StepKind =
  | 'file.create'
  | 'fs.mkfs'
  | 'loop.attach'
  | 'partitions.check'
  | 'dm.create'
  | 'zram.add'
  | 'dir.make'
  | 'mount'
  | 'fs.grow'
  | 'fs.freeze';

export type Json = Record<string, unknown>;

/**
 * A file's identity: its inode and birth time (ns, decimal; absent where the filesystem has
 * none), and the device that held it when recorded ("major:minor": it may change at boot).
 * Journals of older flows hold {dev, ino} only: still read (see src/kernel/files.ts, sameFile).
 */
export const fileIdentitySchema = lazySchema(() => z.object({ dev: z.string(), ino: z.number().int(), birth: z.string().regex(/^[0-9]+$/).optional() }));

/**
 * A schema built at its first use, not when its module is imported: the frozen format-1
 * definitions are imported by every full-CLI command (run's options, fold's format-1 path)
 * and most never parse with them (docs/PERFORMANCE.md, start-up).
 */
export function lazySchema<T>(make: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= make());
}

/** The identity a file.create step recorded in its outputs (`birth` absent in older journals). */
export function createdIdentity(outputs: Outputs, step: string): z.infer<ReturnType<typeof fileIdentitySchema>> {
  const birth = outputs[step]?.birth;
  return { dev: output(outputs, step, 'dev'), ino: Number(output(outputs, step, 'ino')), ...(typeof birth === 'string' ? { birth } : {}) };
}

/** Outputs of the steps done so far, by step name. */
export type Outputs = Readonly<Record<string, Json | undefined>>;

export interface StepDef {
  /** unique within the run, e.g. "attach-image" */
  name: string;
  kind: StepKind;
  /** what the step does, for people */
  title: string;
  /** the effect survives a reboot (files); volatile effects (loop, dm, zram, mount) do not */
  durable: boolean;
  /** the step's exact arguments, from params and earlier outputs */
  args(outputs: Outputs): Json;
  /**
   * The arguments where earlier outputs may be `flow plan`'s placeholders (a device not
   * made yet): for drawing a step not run yet (`flow show`), never for running it. Absent:
   * `args` accepts them (a TypeScript definition checks nothing).
   */
  planArgs?(outputs: Outputs): Json;
}

/** A workflow option as the CLI shows it. */
export interface OptionSpec {
  /** "--image" */
  flag: string;
  /** metavariable, e.g. "FILE"; absent for a switch */
  value?: string;
  description: string;
  default?: string;
  required?: boolean;
}

export interface WorkflowDef<P = Json> {
  name: string;
  /** bumped whenever the steps or their args change; recorded in RunStarted */
  version: number;
  description: string;
  options: OptionSpec[];
  /** examples for help output */
  examples: string[];
  /** checks resolved params read back from a journal (throws on mismatch) */
  parseParams(raw: Json): P;
  /** the run's steps, in order */
  steps(params: P, runId: string): StepDef[];
  /** what the user gets, from the applied steps' outputs: {device, mountpoint, ...} */
  outputs(params: P, outputs: Outputs): Record<string, string>;
}

/** Picks `key` of a step's outputs when present. */
export function pick(into: Record<string, string>, label: string, outputs: Outputs, step: string, key: string): Record<string, string> {
  const v = outputs[step]?.[key];
  if (typeof v === 'string' || typeof v === 'number') into[label] = String(v);
  return into;
}

/** Looks up an output of an earlier step; a missing one is a bug in the workflow definition. */
export function output(outputs: Outputs, step: string, key: string): string {
  const v = outputs[step]?.[key];
  if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`step ${step} has no output ${key}`);
  return String(v);
}

/** The ownership marker of a dm device: the kernel never changes a UUID once set. */
export function dmUuid(runId: string, step: string): string {
  return `FLOW-${runId}-${step}`;
}

/** Default device name for a run. */
export function defaultName(runId: string): string {
  return `flow-${runId}`;
}

/** Mount-related steps shared by every workflow that mounts: create missing dirs, mount. */
export function mountSteps(p: { mountpoint: string | null; mountDirs: string[] }, source: { step: string }, options: string[]): StepDef[] {
  if (p.mountpoint === null) return [];
  const target = p.mountpoint;
  const steps: StepDef[] = [];
  if (p.mountDirs.length > 0) {
    steps.push({ name: 'make-mountpoint', kind: 'dir.make', title: `create ${target}`, durable: true, args: () => ({ dirs: p.mountDirs }) });
  }
  steps.push({
    name: 'mount',
    kind: 'mount',
    title: `mount on ${target}`,
    durable: false,
    args: (o) => ({ source: output(o, source.step, 'node'), majmin: output(o, source.step, 'majmin'), target, options }),
  });
  return steps;
}
