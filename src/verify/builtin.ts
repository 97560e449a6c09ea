/**
 * A subject for `flow verify NAME [options]`: a workflow with its command-line options,
 * resolved by the same preflight as `flow run`, against a simulated host that has this
 * host's paths (host.ts). `subjectFor` takes any resolution of a run (a definition and
 * its params from a preflight), so a workflow from a file plugs in the same way.
 */
import path from 'node:path';
import type { OptionSpec } from '../../machines/types.js';
import { preflightWorkflow } from '../preflight/workflow.js';
import { optionKey } from '../workflow/params.js';
import { definitionRecord, workflowDefOf } from '../workflow/run-def.js';
import type { LoadedWorkflow } from '../workflow/source.js';
import type { PreflightEnv, RawOptions } from '../preflight/types.js';
import { KIND_SPECS } from '../steps/kinds/index.js';
import { makeOtherPrograms, mirrorEntries, mirrorPath, type Mirrored } from './host.js';
import { ID } from './operator.js';
import type { ResolvedRun, Subject } from './subject.js';

/** The metavariables of options that name a path on the host. */
const PATH_VALUES = new Set(['PATH', 'FILE', 'DIR']);

/** The absolute paths the options name (relative ones start at `cwd`), and `cwd` itself. */
export function pathsOf(options: readonly OptionSpec[], raw: RawOptions, cwd: string): string[] {
  const out = [cwd];
  for (const o of options) {
    const v = raw[optionKey(o.flag)];
    if (o.value && PATH_VALUES.has(o.value) && typeof v === 'string' && v !== '') out.push(path.resolve(cwd, v));
  }
  return out;
}

/**
 * The host paths the run's steps use beyond its params (each kind's spec says: `hostPaths`),
 * from a resolution on the host mirrored so far; none when it is refused there (the
 * matrices' own preflight then says why). Only steps whose arguments need no earlier output.
 */
async function stepHostPaths(resolve: () => Promise<ResolvedRun>): Promise<string[]> {
  let run: ResolvedRun;
  try {
    run = await resolve();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const d of run.def.steps(run.def.parseParams(run.params), ID)) {
    const paths = KIND_SPECS[d.kind].hostPaths;
    if (!paths) continue;
    let args;
    try {
      args = d.args({});
    } catch {
      continue; // it names an output of an earlier step: nothing of this host's
    }
    for (const p of paths(args)) if (path.isAbsolute(p)) out.push(p);
  }
  return out;
}

/** A subject from a workflow's name, how a run of it resolves (given the preflight's environment), and the host paths it needs. */
export function subjectFor(name: string, resolve: (env: PreflightEnv) => Promise<ResolvedRun>, paths: readonly string[], cwd: string): Subject {
  return {
    workflow: name,
    resolve: (w, id) => resolve(w.preflightEnv(id, cwd)),
    setup: async (w) => {
      const found: Mirrored = { dirs: [] };
      for (const p of paths) await mirrorPath(w, p, found);
      // before the entries of the params' directories (which mirror as empty files): a bind's target below one is a directory
      for (const p of await stepHostPaths(() => resolve(w.clone().preflightEnv(ID, cwd)))) await mirrorPath(w, p, { dirs: [] });
      for (const d of found.dirs) await mirrorEntries(w, d);
      await makeOtherPrograms(w);
    },
    afterBoot: makeOtherPrograms,
  };
}

/**
 * `flow verify NAME|FILE [options]`: the workflow as `flow run` loads and preflights it, its
 * runs recording their definition as `flow run`'s do.
 */
export function loadedSubject(loaded: LoadedWorkflow, options: readonly OptionSpec[], raw: RawOptions, cwd: string): Subject {
  return subjectFor(
    loaded.workflow.name,
    async (env) => {
      const pf = await preflightWorkflow(loaded, raw, env);
      return { def: workflowDefOf(loaded, pf), params: pf.params, extra: { definition: definitionRecord(loaded, pf) } };
    },
    pathsOf(options, raw, cwd),
    cwd,
  );
}
