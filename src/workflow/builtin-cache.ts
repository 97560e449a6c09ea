/**
 * The built-in workflows, compiled at build time (issue #12: start-up). Loading a built-in
 * costs a YAML parse and the checker (~50-90 ms of CPU in a fresh process on the host, ~1 s
 * under the kernel lab's emulation), at every start of `run`, `plan`, `workflows`, and again
 * (the checker) for every fold of a run that recorded a built-in's definition. The build
 * (scripts/bundle.mjs, `builtinCacheModule`) runs the real parser and checker once over
 * machines/*.yaml and puts the results here, as JSON text parsed on first use; in the sources
 * (what the unit tests run) this table is empty and every workflow is parsed and checked.
 *
 * Nothing here comes from outside the build: the table is part of the program, made from
 * the same built-in texts the bundle carries (machines/builtins.ts) in the same build.
 * test/unit/workflow/builtin-cache.test.ts holds each entry equal to what the parser and
 * checker give, and test/cli/startup.test.ts checks that both bundles carry one per
 * built-in.
 */
import type { Workflow } from './definition.js';
import { thaw } from './frozen.js';

export interface CachedBuiltin {
  /** the canonical JSON of its definition (what a run records) */
  definition: string;
  /**
   * the checked workflow of that definition (frozen.ts), its source RECORDED_LABEL: what
   * workflowFromDefinition gives a run of it, and what loading the built-in gives (the checker
   * reads file positions only to report problems; a built-in has none)
   */
  workflow: string;
}

/** The source a cached recorded workflow carries, replaced by the caller's label. */
export const RECORDED_LABEL = '\u0000recorded';

/** Replaced by the build with the compiled built-ins; empty in the sources. */
export const BUILTIN_CACHE: Readonly<Record<string, CachedBuiltin>> = {};

/** A built-in's checked workflow and canonical definition from the cache; `source` names its file. */
export function cachedBuiltin(name: string, source: string): { workflow: Workflow; definitionJson: string } | undefined {
  const c = Object.hasOwn(BUILTIN_CACHE, name) ? BUILTIN_CACHE[name] : undefined;
  return c && { workflow: { ...(thaw(c.workflow) as Workflow), source }, definitionJson: c.definition };
}

/** The checked workflow of a recorded definition (its canonical JSON) when it is a built-in's, with `label` as its source. */
export function cachedRecorded(canonical: string, label: string): Workflow | undefined {
  for (const c of Object.values(BUILTIN_CACHE)) {
    if (c.definition === canonical) return { ...(thaw(c.workflow) as Workflow), source: label };
  }
  return undefined;
}
