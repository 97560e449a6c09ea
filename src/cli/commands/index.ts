/** Registers every command on the program, one module each. */
import { Command } from 'commander';
import type { SetCode } from './common.js';
import { globalOpts as global } from './common.js';
import { EXAMPLES, listCommand, logCommand, workflowsCommand } from './inspect.js';
import { registerShow } from './show.js';
import { registerCheck } from './check.js';
import { registerCompletion } from './completion.js';
import { registerDoctor } from './doctor.js';
import { registerPlan } from './plan.js';
import { registerPrune } from './prune.js';
import { registerRecover } from './recover.js';
import { registerRecovery } from './recovery.js';
import { registerResolve } from './resolve.js';
import { registerRun, type WorkflowCommand } from './run.js';

/** `given`: a workflow file or an administrator's workflow named on this command line (program.ts). */
export function registerCommands(program: Command, setCode: SetCode, given: WorkflowCommand[] = []): void {
  program.addHelpText('after', EXAMPLES.flow);
  registerRun(program, setCode, given);
  registerRecovery(program, setCode);
  registerPlan(program, setCode, given);
  registerCheck(program, setCode);
  registerRecover(program, setCode);
  registerResolve(program, setCode);
  registerDoctor(program, setCode);
  registerPrune(program, setCode);
  registerCompletion(program, setCode);
  program.command('list').description('list runs, oldest first').option('--json', 'print a JSON array').addHelpText('after', EXAMPLES.list)
    .action(async (o: { json?: boolean }, cmd: Command) => setCode(await listCommand(global(cmd).stateDir, !!o.json)));
  registerShow(program, setCode);
  program.command('log <id>').description("a run's journal events, oldest first").option('--json', 'print a JSON array').addHelpText('after', EXAMPLES.log)
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => setCode(await logCommand(global(cmd).stateDir, id, !!o.json)));
  program.command('workflows').description('workflows with their options, defaults and where each comes from').option('--json', 'print a JSON array').option('--definition <NAME>', "print a workflow's file (a start for one's own)").addHelpText('after', EXAMPLES.workflows)
    .action(async (o: { json?: boolean; definition?: string }) => setCode(await workflowsCommand(!!o.json, o.definition)));
}
