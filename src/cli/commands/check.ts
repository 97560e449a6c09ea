/**
 * `flow check FILE`: validates a workflow file without running anything (exit 0), or lists
 * every problem at file:line:column with its fix (exit 2). The YAML parser and the checker
 * are loaded only by this command (a chunk of their own), not at every command's start.
 */
import type { Command } from 'commander';
import type { SetCode } from './common.js';

export function registerCheck(program: Command, setCode: SetCode): void {
  program
    .command('check <file>')
    .description('validate a workflow file without running anything: every problem at file:line:column with its fix')
    .option('--json', 'print {"file", "ok", "workflow"?, "problems": [{"line", "col", "message", "fix"}]}')
    .addHelpText('after', '\nExamples:\n  flow check ./my-workflow.yaml\n  flow check machines/delayed-device.yaml --json\n\nExit 0 when the file is valid, 2 when it is not.')
    .action(async (file: string, o: { json?: boolean }) => {
      const { checkCommand } = await import('./check-command.js');
      setCode(await checkCommand(file, !!o.json));
    });
}
