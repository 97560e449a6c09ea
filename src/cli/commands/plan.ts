/**
 * `flow plan <workflow> [options] [--json]`: the same preflight as `flow run`, then per
 * step the exact command flow would run and its inverse. Changes nothing: no run is
 * recorded, the state directory is not even opened, the kernel is only read.
 */
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { newRunId } from '../../../journal/ids.js';
import { workflows } from '../../../machines/index.js';
import type { WorkflowDef } from '../../../machines/types.js';
import { preflights } from '../../preflight/index.js';
import type { RawOptions } from '../../preflight/types.js';
import { installCommandLog } from '../log.js';
import { buildPlan } from '../plan/build.js';
import { openKernel } from '../../app.js';
import { planText } from '../plan/render.js';
import { globalOpts, type GlobalOpts, type SetCode } from './common.js';

export function registerPlan(program: Command, setCode: SetCode): void {
  const plan = program
    .command('plan')
    .description('show what a run would do, command by command, and how it is undone; changes nothing')
    .addHelpText(
      'after',
      `\nWorkflows:\n${Object.values(workflows).map((w) => `  ${w.name.padEnd(16)} ${w.description}`).join('\n')}\n\nExamples:\n  flow plan snapshot-image --image raspios.img\n  flow plan delayed-device --file /var/tmp/slow.img --delay 100 --json`,
    );
  for (const wf of Object.values(workflows)) addWorkflow(plan, wf, setCode);
}

function addWorkflow(plan: Command, wf: WorkflowDef<any>, setCode: SetCode): void {
  const cmd = plan.command(wf.name).description(`plan: ${wf.description}`);
  for (const o of wf.options) {
    const flags = o.value ? `${o.flag} <${o.value}>` : o.flag;
    cmd.option(flags, o.description + (o.default && o.value ? ` (default: ${o.default})` : ''));
  }
  const examples = wf.examples.map((e) => `  ${e.replace(/^flow run /, 'flow plan ')}`);
  cmd
    .option('--json', 'print {workflow, id, params, steps: [{name, kind, title, command, inverse}]}')
    .addHelpText('after', `\nExamples:\n${examples.join('\n')}\n  ${examples[0]!.trim()} --json\n\nNothing is changed. <... of STEP> marks what the kernel picks when STEP runs (loop, dm, zram numbers).`)
    .action(async (o: RawOptions & { json?: boolean }, c: Command) => {
      const { json, ...raw } = o;
      setCode(await planCommand(globalOpts(c), wf, raw, !!json));
    });
}

export async function planCommand(opts: GlobalOpts, wf: WorkflowDef<any>, raw: RawOptions, json: boolean): Promise<number> {
  const stopLog = installCommandLog(opts);
  try {
    const { kernel, runDir } = await openKernel();
    const id = newRunId();
    const params = await preflights[wf.name]!(raw, { kernel, cwd: process.cwd(), runDir, id, newUuid: randomUUID });
    const plan = buildPlan(wf, params, id);
    process.stdout.write(json ? JSON.stringify(plan) + '\n' : planText(plan));
    return 0;
  } finally {
    stopLog();
  }
}
