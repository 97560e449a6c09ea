/** `flow run <workflow> [options]`: preflight (nothing changes on bad input), then the run. */
import { Command } from 'commander';
import { newRunId } from '../../../journal/ids.js';
import { workflows } from '../../../machines/index.js';
import type { WorkflowDef } from '../../../machines/types.js';
import { preflights } from '../../preflight/index.js';
import type { RawOptions } from '../../preflight/types.js';
import { globalOpts as global, type SetCode } from './common.js';
import { execute } from './execute.js';
import { checkKey, runWithKey } from '../ops/key.js';

export function registerRun(program: Command, setCode: SetCode): void {
  const run = program
    .command('run')
    .description('start a workflow run')
    .option('--key <KEY>', 'idempotent run (also accepted after the workflow name; see `flow run <workflow> --help`)')
    .addHelpText('after', `\nWorkflows:\n${Object.values(workflows).map((w) => `  ${w.name.padEnd(16)} ${w.description}`).join('\n')}\n\nExample:\n  flow run snapshot-image --image raspios.img`);
  for (const wf of Object.values(workflows)) addWorkflow(run, wf, setCode);
}

function addWorkflow(run: Command, wf: WorkflowDef<any>, setCode: SetCode): void {
  const cmd = run.command(wf.name).description(wf.description);
  for (const o of wf.options) {
    const flags = o.value ? `${o.flag} <${o.value}>` : o.flag;
    cmd.option(flags, o.description + (o.default && o.value ? ` (default: ${o.default})` : ''));
  }
  cmd
    .option('--keep-on-failure', 'leave what was done when a step fails (default: roll it back)')
    .option('--key <KEY>', 'idempotent: a run with this key that is done is shown (nothing changes), an unfinished one is resumed, else a new one starts')
    .option('--json', 'print the result as one JSON object at the end')
    .option('--quiet', 'print only the run id and the outputs')
    .addHelpText('after', `\nExamples:\n${[...wf.examples, `flow run ${wf.name} --key ci-42 ...   # run it again and again: it runs once`].map((e) => `  ${e}`).join('\n')}`)
    .action(async (o: RawOptions & { keepOnFailure?: boolean; json?: boolean; quiet?: boolean; key?: string }, c: Command) => {
      const { keepOnFailure, json, quiet, key: own, ...raw } = o;
      const key = own ?? (c.parent?.opts() as { key?: string } | undefined)?.key;
      if (key !== undefined) checkKey(key);
      setCode(
        await execute({ ...global(c), json, quiet: !!quiet }, async (runner, app) => {
          const start = async () => {
            let id = newRunId();
            while (await app.store.exists(id)) id = newRunId();
            const params = await preflights[wf.name]!(raw, { kernel: app.kernel, cwd: process.cwd(), runDir: app.runDir, id, newUuid: app.newUuid });
            return runner.start({ id, workflow: wf, params, keepOnFailure: !!keepOnFailure, ...(key !== undefined ? { key } : {}) });
          };
          return key === undefined ? start() : runWithKey(app, runner, key, wf, { json, start });
        }),
      );
    });
}
