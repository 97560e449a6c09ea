/**
 * `flow run <workflow|FILE> [options]`: loads the workflow (a file, /etc/flow/workflows, a
 * built-in), preflight (nothing changes on bad input), then the run, which records the
 * workflow's definition in its journal.
 */
import { Command } from 'commander';
import { newRunId } from '../../../journal/ids.js';
import { fileBuiltins, workflows } from '../../../machines/index.js';
import type { OptionSpec } from '../../../machines/types.js';
import type { RawOptions } from '../../preflight/types.js';
import { preflightWorkflow } from '../../preflight/workflow.js';
import { definitionRecord, workflowDefOf } from '../../workflow/run-def.js';
import type { LoadedWorkflow } from '../../workflow/source.js';
import { etcWorkflowsDir } from '../../workflow/where.js';
import { globalOpts as global, type SetCode } from './common.js';
import { execute } from './execute.js';
import { checkKey, runWithKey } from '../ops/key.js';

/** A workflow as a subcommand of run / plan: its word on the command line, help, and how to load it. */
export interface WorkflowCommand {
  word: string;
  description: string;
  options: OptionSpec[];
  examples: string[];
  load(): Promise<LoadedWorkflow>;
}

/** The loader (YAML parser and checker) is a chunk of its own, loaded when a workflow runs. */
export async function loadNamed(nameOrPath: string): Promise<LoadedWorkflow> {
  const { loadWorkflow } = await import('../../workflow/source.js');
  return loadWorkflow(nameOrPath, { etcDir: etcWorkflowsDir(), cwd: process.cwd() });
}

/** The built-ins (their options as they have always been), except those `given` replaces (a file, one in /etc). */
export function workflowCommands(given: WorkflowCommand[]): WorkflowCommand[] {
  const own = new Set(given.map((g) => g.word));
  const builtins = Object.values(workflows)
    .filter((w) => !own.has(w.name))
    .map((w) => ({ word: w.name, description: w.description, options: w.options, examples: w.examples, load: () => loadNamed(w.name) }));
  // a file-only built-in named on the command line is in `given` with its options; otherwise listed for help
  const files = Object.entries(fileBuiltins)
    .filter(([name]) => !own.has(name))
    .map(([name, description]) => ({ word: name, description, options: [], examples: [], load: () => loadNamed(name) }));
  return [...builtins, ...files, ...given];
}

/** A loaded file as a subcommand: its params are the options (--kebab-case). */
export async function fileCommand(word: string): Promise<WorkflowCommand> {
  const l = await loadNamed(word);
  const { optionOf } = await import('../../workflow/params.js');
  return { word, description: l.workflow.description, options: l.workflow.params.map(([n, p]) => optionOf(n, p)), examples: l.workflow.examples, load: async () => l };
}

export function addOptions(cmd: Command, options: OptionSpec[]): void {
  for (const o of options) {
    const flags = o.value ? `${o.flag} <${o.value}>` : o.flag;
    cmd.option(flags, o.description + (o.default && o.value ? ` (default: ${o.default})` : ''));
  }
}

export function registerRun(program: Command, setCode: SetCode, given: WorkflowCommand[] = []): void {
  const all = workflowCommands(given);
  const run = program
    .command('run')
    .description('start a workflow run')
    .option('--key <KEY>', 'idempotent run (also accepted after the workflow name; see `flow run <workflow> --help`)')
    .addHelpText('after', `\nWorkflows:\n${all.map((w) => `  ${w.word.padEnd(16)} ${w.description}`).join('\n')}\n  ./FILE.yaml      a workflow file (see \`flow workflows --definition NAME\`)\n\nExample:\n  flow run snapshot-image --image raspios.img`);
  for (const wf of all) addWorkflow(run, wf, setCode);
}

function addWorkflow(run: Command, wf: WorkflowCommand, setCode: SetCode): void {
  const cmd = run.command(wf.word).description(wf.description);
  addOptions(cmd, wf.options);
  cmd
    .option('--keep-on-failure', 'leave what was done when a step fails (default: roll it back)')
    .option('--key <KEY>', 'idempotent: a run with this key that is done is shown (nothing changes), an unfinished one is resumed, else a new one starts')
    .option('--json', 'print the result as one JSON object at the end')
    .option('--quiet', 'print only the run id and the outputs')
    .addHelpText('after', `\nExamples:\n${[...wf.examples, `flow run ${wf.word} --key ci-42 ...   # run it again and again: it runs once`].map((e) => `  ${e}`).join('\n')}`)
    .action(async (o: RawOptions & { keepOnFailure?: boolean; json?: boolean; quiet?: boolean; key?: string }, c: Command) => {
      const { keepOnFailure, json, quiet, key: own, ...raw } = o;
      const key = own ?? (c.parent?.opts() as { key?: string } | undefined)?.key;
      if (key !== undefined) checkKey(key);
      const loaded = await wf.load();
      setCode(
        await execute({ ...global(c), json, quiet: !!quiet }, async (runner, app) => {
          let placeholder = workflowDefOf(loaded, { params: {}, run: { dir: app.runDir, uuid: '' } });
          const start = async () => {
            let id = newRunId();
            while (await app.store.exists(id)) id = newRunId();
            const pf = await preflightWorkflow(loaded, raw, { kernel: app.kernel, cwd: process.cwd(), runDir: app.runDir, id, newUuid: app.newUuid });
            placeholder = workflowDefOf(loaded, pf);
            return runner.start({ id, workflow: placeholder, params: pf.params, definition: definitionRecord(loaded, pf), keepOnFailure: !!keepOnFailure, ...(key !== undefined ? { key } : {}) });
          };
          return key === undefined ? start() : runWithKey(app, runner, key, placeholder, { json, start });
        }),
      );
    });
}
