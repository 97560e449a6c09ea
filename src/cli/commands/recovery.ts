/** `flow resume <id>` and `flow rollback <id>`. */
import { Command } from 'commander';
import type { Runner } from '../../engine/runner.js';
import { globalOpts as global, type SetCode } from './common.js';
import { execute } from './execute.js';

export function registerRecovery(program: Command, setCode: SetCode): void {
  const recovery = [
    ['resume', 'continue an unfinished run (after a crash, an interruption, or --keep-on-failure)', (r: Runner, id: string) => r.resume(id)],
    ['rollback', 'undo a run in reverse order (also a finished one, also after a reboot)', (r: Runner, id: string) => r.rollback(id)],
  ] as const;
  for (const [name, description, act] of recovery) {
    program
      .command(`${name} <id>`)
      .description(description)
      .option('--json', 'print the result as one JSON object')
      .option('--quiet', 'print only the run id and the outputs')
      .addHelpText('after', `\nExample:\n  flow ${name} k3m9x2ab`)
      .action(async (id: string, o: { json?: boolean; quiet?: boolean }, cmd: Command) => {
        setCode(await execute({ ...global(cmd), json: o.json, quiet: o.quiet }, (r) => act(r, id), id));
      });
  }

}
