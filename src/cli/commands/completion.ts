/** `flow completion bash|zsh`: prints a shell completion script (commands, workflows, options, run ids). */
import { Argument, type Command } from 'commander';
import { bashScript } from '../completion/bash.js';
import { specOf } from '../completion/spec.js';
import { workflowNames } from '../completion/spec.js';
import { zshScript } from '../completion/zsh.js';
import { inEtc } from '../../workflow/where.js';
import { fileCommand, type WorkflowCommand } from './run.js';
import type { SetCode } from './common.js';

/**
 * The administrators' workflows (/etc/flow/workflows), loaded so that `run`, `plan` and
 * `verify` complete them and their options like the built-ins (program.ts gives them to
 * every command when the command is `completion`). A file that does not load is left out:
 * completion is no place to report it (`flow check` is).
 */
export async function etcWorkflowCommands(): Promise<WorkflowCommand[]> {
  const out: WorkflowCommand[] = [];
  for (const name of workflowNames().filter((n) => inEtc(n))) {
    try {
      out.push(await fileCommand(name));
    } catch {
      // left out
    }
  }
  return out;
}

export function registerCompletion(program: Command, setCode: SetCode): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, workflows, options, run ids)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .addHelpText(
      'after',
      `
Run ids are completed by calling \`flow list --json\` when you press TAB (with the
--state-dir given on the command line, or FLOW_STATE_DIR). Workflows: the built-ins and
those in /etc/flow/workflows when the script was made (make it again after adding one).

Examples:
  source <(flow completion bash)                          in this bash
  flow completion bash > /etc/bash_completion.d/flow      every bash (as root)
  source <(flow completion zsh)                           in this zsh (after compinit)
  flow completion zsh > "\${fpath[1]}/_flow"               every zsh`,
    )
    .action((shell: 'bash' | 'zsh', _o: unknown, cmd: Command) => {
      let root = cmd;
      while (root.parent) root = root.parent;
      const spec = specOf(root);
      process.stdout.write(shell === 'bash' ? bashScript(spec) : zshScript(spec));
      setCode(0);
    });
}
