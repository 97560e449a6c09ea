/** `flow prune --older-than DURATION [--dry-run] [--json]`: forget runs that ended long ago. */
import { Command } from 'commander';
import { prune } from '../ops/prune.js';
import { globalOpts as global, type SetCode } from './common.js';

const HELP = `
Removes the journal (runs/<id>.json) and the lock file of every run that ended — done or
rolled back — before now minus DURATION (the time of its last event). Never an unfinished
run; a corrupt journal is reported and kept; a run another flow process holds is skipped.
Removing a done run's journal does not undo it: its devices stay, and flow forgets them.

Durations: a whole number and a unit: s, m, h, d, w (90m, 12h, 30d, 2w).
Exit code: 0; 3 when a corrupt journal was kept; 4 when a run was skipped (in use).
--json prints [{"id", "workflow", "status", "ended", "action": "removed"|"would-remove"|"kept"|"skipped", "reason"?}]

Examples:
  flow prune --older-than 30d --dry-run     what would go
  flow prune --older-than 30d
  flow prune --older-than 12h --json`;

export function registerPrune(program: Command, setCode: SetCode): void {
  program
    .command('prune')
    .description('remove the journals of runs that ended (done or rolled back) before now minus DURATION')
    .requiredOption('--older-than <DURATION>', 'how long ago the run must have ended: 90m, 12h, 30d, 2w')
    .option('--dry-run', 'only say what would be removed')
    .option('--json', 'print one JSON array')
    .addHelpText('after', HELP)
    .action(async (o: { olderThan: string; dryRun?: boolean; json?: boolean }, cmd: Command) => {
      setCode(await prune({ ...global(cmd), olderThan: o.olderThan, dryRun: !!o.dryRun, json: !!o.json }));
    });
}
