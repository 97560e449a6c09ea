/**
 * `flow plan <workflow|FILE> [options] [--json]`: the same preflight as `flow run`, then per
 * step the exact command flow would run and its inverse. Changes nothing: no run is
 * recorded, the state directory is not even opened, the kernel is only read. On a host
 * without device-mapper, zram or loop (a workstation where a workflow is written), the plan
 * is shown all the same, and what this host could not run is said once.
 */
import { randomUUID } from 'node:crypto';
import { Command } from 'commander';
import { newRunId } from '../../../journal/ids.js';
import { KernelError } from '../../errors.js';
import type { Kernel } from '../../kernel/types.js';
import type { RawOptions } from '../../preflight/types.js';
import { preflightWorkflow } from '../../preflight/workflow.js';
import { workflowDefOf } from '../../workflow/run-def.js';
import { installCommandLog } from '../log.js';
import { buildPlan } from '../plan/build.js';
import { openKernel } from '../../app.js';
import { planText } from '../plan/render.js';
import { globalOpts, type GlobalOpts, type SetCode } from './common.js';
import { addOptions, workflowCommands, type WorkflowCommand } from './run.js';

export function registerPlan(program: Command, setCode: SetCode, given: WorkflowCommand[] = []): void {
  const all = workflowCommands(given);
  const plan = program
    .command('plan')
    .description('show what a run would do, command by command, and how it is undone; changes nothing')
    .addHelpText(
      'after',
      `\nWorkflows:\n${all.map((w) => `  ${w.word.padEnd(16)} ${w.description}`).join('\n')}\n  ./FILE.yaml      a workflow file\n\nExamples:\n  flow plan snapshot-image --image raspios.img\n  flow plan delayed-device --file /var/tmp/slow.img --delay 100 --json`,
    );
  for (const wf of all) addWorkflow(plan, wf, setCode);
}

function addWorkflow(plan: Command, wf: WorkflowCommand, setCode: SetCode): void {
  const cmd = plan.command(wf.word).description(`plan: ${wf.description}`);
  addOptions(cmd, wf.options);
  const examples = wf.examples.map((e) => `  ${e.replace(/^flow run /, 'flow plan ')}`);
  cmd
    .option('--json', 'print {workflow, id, params, steps: [{name, kind, title, command, inverse}]}')
    .addHelpText('after', `\nExamples:\n${examples.join('\n')}\n${examples[0] ? `  ${examples[0].trim()} --json\n` : ''}\nNothing is changed. <... of STEP> marks what the kernel picks when STEP runs (loop, dm, zram numbers).`)
    .action(async (o: RawOptions & { json?: boolean }, c: Command) => {
      const { json, ...raw } = o;
      setCode(await planCommand(globalOpts(c), wf, raw, !!json));
    });
}

const READS = ['list', 'info', 'targets', 'table', 'status'] as const;

/**
 * The kernel for a plan: a read of a facility this host lacks (ENOTSUP: no device-mapper,
 * zram or loop driver) answers "nothing there" and is noted, so the plan can be shown.
 */
function tolerant(k: Kernel, lacking: Set<string>): Kernel {
  const wrap = <F extends object>(name: string, f: F): F => {
    const w = { ...f } as Record<string, unknown>;
    for (const m of READS) {
      const fn = (f as Record<string, unknown>)[m];
      if (typeof fn !== 'function') continue;
      w[m] = async (...a: unknown[]) => {
        try {
          return await (fn as (...x: unknown[]) => Promise<unknown>).apply(f, a);
        } catch (err) {
          if (!(err instanceof KernelError) || err.code !== 'ENOTSUP') throw err;
          lacking.add(`${name}: ${err.message}`);
          return m === 'list' || m === 'targets' || m === 'table' ? [] : null;
        }
      };
    }
    return w as F;
  };
  return { ...k, dm: wrap('device-mapper', k.dm), zram: wrap('zram', k.zram), loop: wrap('loop', k.loop) };
}

export async function planCommand(opts: GlobalOpts, wf: WorkflowCommand, raw: RawOptions, json: boolean): Promise<number> {
  const stopLog = installCommandLog(opts);
  try {
    const loaded = await wf.load();
    const { kernel, runDir } = await openKernel();
    const lacking = new Set<string>();
    const id = newRunId();
    const pf = await preflightWorkflow(loaded, raw, { kernel: tolerant(kernel, lacking), cwd: process.cwd(), runDir, id, newUuid: randomUUID });
    const plan = buildPlan(workflowDefOf(loaded, pf, true), pf.params, id);
    process.stdout.write(json ? JSON.stringify(lacking.size ? { ...plan, hostLacks: [...lacking] } : plan) + '\n' : planText(plan));
    if (lacking.size && !json) process.stderr.write(`flow: this host could not run this plan: ${[...lacking].join('; ')}\n  the plan above is what flow would do on a host that has it (see \`flow doctor\`)\n`);
    return 0;
  } finally {
    stopLog();
  }
}
