/**
 * `flow verify <workflow> [options] [--json]`: the crash matrix for that workflow with
 * those options, in memory (fake kernel, simulated host): nothing on this host changes.
 * The matrices and the fake kernel are loaded only by this command (verify-command.ts).
 */
import type { Command } from 'commander';
import { EXEC_BINDS } from '../../exec/names.js';
import type { RawOptions } from '../../preflight/types.js';
import type { SetCode } from './common.js';
import { addOptions, workflowCommands, type WorkflowCommand } from './run.js';

/** `flow verify exec-binds --root DIR`: flow exec's internal bind workflow, as a built-in file is verified. */
export async function execBindsCommand(): Promise<WorkflowCommand> {
  const { execBindsWorkflow } = await import('../../exec/binds-workflow.js');
  const { optionOf } = await import('../../workflow/params.js');
  const l = execBindsWorkflow();
  const options = l.workflow.params.map(([n, p]) => optionOf(n, p));
  return { word: l.workflow.name, description: `${l.workflow.description} (flow exec's own workflow)`, options, examples: [`flow verify ${l.workflow.name} --root /run/flow/ID/mnt`], load: async () => l };
}

/** `exec-binds` in `flow verify --help` (its workflow is loaded only when it is verified: execBindsCommand). */
export const EXEC_BINDS_HELP = `flow exec's own workflow: the host's /dev, /proc, /sys and resolv.conf bound into a run's mounted root (flow verify ${EXEC_BINDS} --root DIR)`;

/** The matrices' chunk, loaded only by this command (the bundle allows one import() of it: scripts/bundle.mjs). */
const verifyChunk = () => import('./verify-command.js');

export function registerVerify(program: Command, setCode: SetCode, given: WorkflowCommand[] = []): void {
  const all = workflowCommands(given);
  const verify = program
    .command('verify')
    .description('crash-test a workflow in memory: a crash at every point of every step, resumed and rolled back; changes nothing')
    .addHelpText(
      'after',
      `\nWorkflows:\n${all.map((w) => `  ${w.word.padEnd(16)} ${w.description}`).join('\n')}\n  ${EXEC_BINDS.padEnd(16)} ${EXEC_BINDS_HELP}\n  export-temp      flow export's own workflow, in a built-in world (no options)\n  ./FILE.yaml      a workflow file\n\nExamples:\n  flow verify delayed-device --file /var/tmp/slow.img --size 64M\n  flow verify snapshot-image --image raspios.img --json\n  flow verify ./mine.yaml --file /var/tmp/slow.img\n\nExit 0 when every crash point resumes and rolls back exactly (0 violations, 0 leaks), 5 when not, 2 on bad options.`,
    );
  for (const wf of all) addWorkflow(verify, wf, setCode);
  verify
    .command('export-temp')
    .description("verify: flow export's own workflow (its temporary image, the copied filesystem frozen), in a built-in world: a done snapshot-image --cow-file run, its ext4 mounted")
    .option('--json', 'print the figures as one object (as for any workflow)')
    .addHelpText('after', '\nNo options: the world is built in (an ext4 image, a done snapshot-image run of it with a persistent COW, mounted; the export run\'s temporary file beside /img/exported.img, that mount frozen). After a power cut, the world boots and `flow resume`s that run before the export run is recovered.\n\nExamples:\n  flow verify export-temp\n  flow verify export-temp --json')
    .action(async (o: { json?: boolean }) => {
      const { verifyExportTemp } = await verifyChunk();
      setCode(await verifyExportTemp(!!o.json));
    });
}

function addWorkflow(verify: Command, wf: WorkflowCommand, setCode: SetCode): void {
  const cmd = verify.command(wf.word).description(`verify: ${wf.description}`);
  addOptions(cmd, wf.options);
  const examples = wf.examples.map((e) => `  ${e.replace(/^flow run /, 'flow verify ')}`);
  cmd
    .option('--json', 'print {"workflow", "ok", "points": {"enumerated", "tried"}, "runs", "resumed", "rolledBack", "violations", "leaks", ...}')
    .addHelpText('after', `\nExamples:\n${examples.join('\n')}\n\nRuns in memory on a simulated host that has this host's paths named by the options (read, never written); nothing on this host changes.`)
    .action(async (o: RawOptions & { json?: boolean }) => {
      const { json, ...raw } = o;
      const loaded = await wf.load();
      const { verifyLoaded } = await verifyChunk();
      setCode(await verifyLoaded(loaded, wf.options, raw, !!json));
    });
}
