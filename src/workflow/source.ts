/**
 * Where workflows come from, and the canonical data a run records of its workflow.
 *
 * Discovery (`loadWorkflow`): a path (anything with a `/` or ending in .yaml/.yml) is that
 * file; a name is `<etcDir>/<name>.yaml` when present (it shadows a built-in of the same
 * name), else the built-in machines/<name>.yaml (carried in the bundle: machines/builtins.ts).
 *
 * The canonical definition is the file's data as JSON (keys in file order: params and values
 * may refer to earlier ones), without comments or formatting; its sha256 is that of its
 * JSON text. A run records it in RunStarted (`definition`), and fold rebuilds the run's
 * steps from it alone (`workflowFromDefinition`): the file may since have been edited,
 * deleted, or the built-in changed by an upgrade.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { BUILTIN_TEXTS } from '../../machines/builtins.js';
import { UsageError, WorkflowFileError } from '../errors.js';
import { cachedBuiltin } from './builtin-cache.js';
import { checkTree } from './check.js';
import type { Workflow } from './definition.js';
import { NAME_RE } from './params.js';
import { readWorkflowFile } from './load.js';
import { parseYaml, plain, YamlRefused, type PNode } from './yaml.js';
import { sha256Of } from './recorded.js';

export { canonicalJson, sha256Of, workflowFromDefinition } from './recorded.js';

export { etcWorkflowsDir, isPathArg } from './where.js';
import { isPathArg } from './where.js';

export type SourceKind = 'builtin' | 'etc' | 'file';
export interface WorkflowSource {
  kind: SourceKind;
  path?: string;
}

export interface LoadedWorkflow {
  workflow: Workflow;
  /** the canonical data of the file (what RunStarted records) */
  definition: unknown;
  /** hex sha256 of the canonical JSON text */
  sha256: string;
  source: WorkflowSource;
  /** the file's text, as read */
  text: string;
}

export interface LoadOptions {
  /** /etc/flow/workflows, or a test's directory */
  etcDir: string;
  /** where a relative path starts */
  cwd?: string;
}

export function builtinNames(): string[] {
  return Object.keys(BUILTIN_TEXTS);
}

function parseChecked(text: string, file: string): { workflow: Workflow; definition: unknown } {
  let root: PNode;
  try {
    root = parseYaml(text);
  } catch (err) {
    if (err instanceof YamlRefused) throw new WorkflowFileError(file, err.diagnostics.map((d) => ({ line: d.pos.line, col: d.pos.col, message: d.message, fix: d.fix })));
    throw err;
  }
  const r = checkTree(root, file);
  if (!r.workflow) throw new WorkflowFileError(file, r.problems.map((d) => ({ line: d.pos.line, col: d.pos.col, message: d.message, fix: d.fix })));
  return { workflow: r.workflow, definition: plain(root) };
}

function loaded(text: string, file: string, source: WorkflowSource): LoadedWorkflow {
  const { workflow, definition } = parseChecked(text, file);
  return { workflow, definition, sha256: sha256Of(definition), source, text };
}

async function etcFile(etcDir: string, name: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(etcDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new UsageError(`${etcDir} cannot be read: ${(err as Error).message}`, 'check its permissions');
  }
  return names.includes(`${name}.yaml`) ? path.join(etcDir, `${name}.yaml`) : undefined;
}

/**
 * The workflow `nameOrPath` names: a file, an administrator's workflow in `etcDir`, or a
 * built-in. A workflow in etcDir must carry its file's name (`name:`), so that the name a
 * run records finds it again.
 */
export async function loadWorkflow(nameOrPath: string, opts: LoadOptions): Promise<LoadedWorkflow> {
  if (isPathArg(nameOrPath)) {
    const file = path.resolve(opts.cwd ?? process.cwd(), nameOrPath);
    return loaded(await readWorkflowFile(file), nameOrPath, { kind: 'file', path: file });
  }
  if (!NAME_RE.test(nameOrPath)) throw new UsageError(`unknown workflow ${JSON.stringify(nameOrPath)}`, `workflows: ${builtinNames().join(', ')}, those in ${opts.etcDir}, or a file (./my.yaml)`);
  const etc = await etcFile(opts.etcDir, nameOrPath);
  if (etc) {
    const l = loaded(await readWorkflowFile(etc), etc, { kind: 'etc', path: etc });
    if (l.workflow.name !== nameOrPath) throw new WorkflowFileError(etc, [{ line: 1, col: 1, message: `the file is named ${nameOrPath}.yaml but its workflow is named ${l.workflow.name}`, fix: `name the file ${l.workflow.name}.yaml, or the workflow ${nameOrPath}` }]);
    return l;
  }
  const text = Object.hasOwn(BUILTIN_TEXTS, nameOrPath) ? BUILTIN_TEXTS[nameOrPath] : undefined;
  if (text === undefined) throw new UsageError(`unknown workflow ${JSON.stringify(nameOrPath)}`, `workflows: ${builtinNames().join(', ')}, those in ${opts.etcDir} (flow workflows), or a file (./my.yaml)`);
  const file = `machines/${nameOrPath}.yaml`;
  // compiled by the build (builtin-cache.ts); from the sources, parsed and checked
  const cached = cachedBuiltin(nameOrPath, file);
  if (cached) {
    const definition: unknown = JSON.parse(cached.definitionJson);
    return { workflow: cached.workflow, definition, sha256: sha256Of(definition), source: { kind: 'builtin' }, text };
  }
  return loaded(text, file, { kind: 'builtin' });
}

/** Every workflow flow can find by name: those in etcDir (marked when they shadow a built-in), then the built-ins they leave. */
export async function listWorkflows(etcDir: string): Promise<{ name: string; source: WorkflowSource; shadows: boolean; loaded?: LoadedWorkflow; error?: string }[]> {
  const out: { name: string; source: WorkflowSource; shadows: boolean; loaded?: LoadedWorkflow; error?: string }[] = [];
  let names: string[] = [];
  try {
    names = (await readdir(etcDir)).filter((n) => n.endsWith('.yaml')).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new UsageError(`${etcDir} cannot be read: ${(err as Error).message}`, 'check its permissions');
  }
  const entry = async (name: string) => {
    const p = path.join(etcDir, `${name}.yaml`);
    const shadows = Object.hasOwn(BUILTIN_TEXTS, name);
    try {
      return { name, source: { kind: 'etc' as const, path: p }, shadows, loaded: await loadWorkflow(name, { etcDir }) };
    } catch (err) {
      return { name, source: { kind: 'etc' as const, path: p }, shadows, error: (err as Error).message };
    }
  };
  const inEtc = new Set(names.map((n) => n.replace(/\.yaml$/, '')));
  // the built-ins in their order, each replaced by the file that shadows it; then the others in /etc
  for (const name of builtinNames()) out.push(inEtc.has(name) ? await entry(name) : { name, source: { kind: 'builtin' }, shadows: false, loaded: await loadWorkflow(name, { etcDir }) });
  for (const name of [...inEtc].sort()) if (!Object.hasOwn(BUILTIN_TEXTS, name)) out.push(await entry(name));
  return out;
}

