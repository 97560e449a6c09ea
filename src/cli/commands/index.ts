/** Registers every command on the program. */
import { Command } from 'commander';
import { workflows } from '../../../machines/index.js';
import type { WorkflowDef } from '../../../machines/types.js';
import { newRunId } from '../../../journal/ids.js';
import { preflights } from '../../preflight/index.js';
import type { RawOptions } from '../../preflight/types.js';
import type { Runner } from '../../engine/runner.js';
import { execute } from './execute.js';
import { listCommand, logCommand, showCommand, workflowsCommand } from './inspect.js';

type SetCode = (code: number) => void;

const global = (cmd: Command): { stateDir: string } => cmd.optsWithGlobals() as { stateDir: string };

export function registerCommands(program: Command, setCode: SetCode): void {
  const run = program
    .command('run')
    .description('start a workflow run')
    .addHelpText('after', `\nWorkflows:\n${Object.values(workflows).map((w) => `  ${w.name.padEnd(16)} ${w.description}`).join('\n')}\n\nExample:\n  flow run snapshot-image --image raspios.img`);
  for (const wf of Object.values(workflows)) addWorkflow(run, wf, setCode);

  const recovery = [
    ['resume', 'continue an unfinished run (after a crash, an interruption, or --keep-on-failure)', (r: Runner, id: string) => r.resume(id)],
    ['rollback', 'undo a run in reverse order (also a finished one, also after a reboot)', (r: Runner, id: string) => r.rollback(id)],
  ] as const;
  for (const [name, description, act] of recovery) {
    program
      .command(`${name} <id>`)
      .description(description)
      .option('--json', 'print the result as one JSON object')
      .addHelpText('after', `\nExample:\n  flow ${name} k3m9x2ab`)
      .action(async (id: string, o: { json?: boolean }, cmd: Command) => {
        setCode(await execute({ ...global(cmd), json: o.json }, (r) => act(r, id), id));
      });
  }

  program.command('list').description('list runs, oldest first').option('--json', 'print a JSON array')
    .action(async (o: { json?: boolean }, cmd: Command) => setCode(await listCommand(global(cmd).stateDir, !!o.json)));
  program.command('show <id>').description("a run's params, steps, outputs and live devices").option('--json', 'print one JSON object')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => setCode(await showCommand(global(cmd).stateDir, id, !!o.json)));
  program.command('log <id>').description("a run's journal events, oldest first").option('--json', 'print a JSON array')
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => setCode(await logCommand(global(cmd).stateDir, id, !!o.json)));
  program.command('workflows').description('workflows with their options and defaults').option('--json', 'print a JSON array')
    .action(async (o: { json?: boolean }) => setCode(workflowsCommand(!!o.json)));
}

function addWorkflow(run: Command, wf: WorkflowDef<any>, setCode: SetCode): void {
  const cmd = run.command(wf.name).description(wf.description);
  for (const o of wf.options) {
    const flags = o.value ? `${o.flag} <${o.value}>` : o.flag;
    cmd.option(flags, o.description + (o.default && o.value ? ` (default: ${o.default})` : ''));
  }
  cmd
    .option('--keep-on-failure', 'leave what was done when a step fails (default: roll it back)')
    .option('--json', 'print the result as one JSON object at the end')
    .addHelpText('after', `\nExamples:\n${wf.examples.map((e) => `  ${e}`).join('\n')}`)
    .action(async (o: RawOptions & { keepOnFailure?: boolean; json?: boolean }, c: Command) => {
      const { keepOnFailure, json, ...raw } = o;
      setCode(
        await execute({ ...global(c), json }, async (runner, app) => {
          let id = newRunId();
          while (await app.store.exists(id)) id = newRunId();
          const params = await preflights[wf.name]!(raw, { kernel: app.kernel, cwd: process.cwd(), runDir: app.runDir, id, newUuid: app.newUuid });
          return runner.start({ id, workflow: wf, params, keepOnFailure: !!keepOnFailure });
        }),
      );
    });
}
