/** `flow recover [--policy resume|rollback] [--json]`: settle every unfinished run (after a crash, at boot). */
import { Command, Option } from 'commander';
import { recover, type Policy } from '../ops/recover.js';
import { globalOpts as global, type SetCode } from './common.js';

const HELP = `
Every run that is not done and not rolled back (running or crashed, interrupted, failed,
needs-operator, rolling-back) is settled, oldest first. A run being rolled back is always
rolled back, whatever the policy. A run another flow process holds is skipped and reported.

Exit code: 0 when every run ended done or rolled back; otherwise the most serious of
3 (a run needs an operator, or a journal is corrupt), 4 (a run is held by another flow
process), 1 (a step failed); 130 when stopped by SIGINT/SIGTERM.

--json prints one array: [{"id", "workflow", "before", "after", "action", "error"?, "commands"?}]

Examples:
  flow recover                      roll back every unfinished run (what the boot unit runs)
  flow recover --policy resume      finish them instead
  flow recover --json               for scripts
  systemctl enable flow-recover.service   run it at every boot (see the README)`;

export function registerRecover(program: Command, setCode: SetCode): void {
  program
    .command('recover')
    .description('settle every unfinished run (after a crash, at boot): roll back (default) or resume each')
    .addOption(new Option('--policy <POLICY>', 'what to do with an unfinished run').choices(['resume', 'rollback']).default('rollback'))
    .option('--json', 'print one JSON array at the end')
    .addHelpText('after', HELP)
    .action(async (o: { policy: Policy; json?: boolean }, cmd: Command) => {
      setCode(await recover({ ...global(cmd), policy: o.policy, json: !!o.json }));
    });
}
