/**
 * `flow resolve <id> --step STEP --as applied|absent`: the operator's way out when flow
 * could not settle a step (exit 3). Recorded as an OperatorResolved event attributed to
 * the operator; `flow resume` / `flow rollback` go on from there.
 */
import { userInfo } from 'node:os';
import { Command, Option } from 'commander';
import { openApp } from '../../app.js';
import { statusOf } from '../render.js';
import { globalOpts as global, type SetCode } from './common.js';

const HELP = `
Use it after flow stopped with exit 3 ("needs an operator") and you checked by hand
what is left of the step: --as absent when its effect is gone (you undid it, e.g.
umount), --as applied when it is in place as the journal says. flow records your
answer with your user name and tells you what to run next.

Examples:
  flow resolve k3m9x2ab --step mount --as absent     after umount-ing it yourself
  flow rollback k3m9x2ab                             then finish the rollback
  flow resolve k3m9x2ab --step attach-image --as applied --json`;

/** Who resolves: the user behind sudo, else this user's name, else the uid. */
export function operatorName(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SUDO_USER) return env.SUDO_USER;
  try {
    const name = userInfo().username;
    if (name) return name;
  } catch {
    // no passwd entry for this uid
  }
  return `uid ${process.getuid?.() ?? '?'}`;
}

export function registerResolve(program: Command, setCode: SetCode): void {
  program
    .command('resolve <id>')
    .description("record that a step flow could not settle (exit 3) is there or gone, so resume/rollback can go on")
    .requiredOption('--step <STEP>', 'the step in doubt (see `flow show <id>`)')
    .addOption(new Option('--as <WHAT>', 'what you found: the effect is in place, or it is gone').choices(['applied', 'absent']).makeOptionMandatory())
    .option('--json', 'print one JSON object')
    .addHelpText('after', HELP)
    .action(async (id: string, o: { step: string; as: 'applied' | 'absent'; json?: boolean }, cmd: Command) => {
      const app = await openApp(global(cmd).stateDir);
      const by = operatorName();
      const out = await app.runner({}).resolve(id, o.step, o.as, by);
      const onlyBack = out.state.stoppedFrom === 'rollback';
      const next = onlyBack ? [`flow rollback ${id}`] : [`flow resume ${id}`, `flow rollback ${id}`];
      const doubt = out.state.steps.filter((s) => !['pending', 'applied', 'undone'].includes(s.status)).map((s) => s.name);
      if (o.json) {
        process.stdout.write(JSON.stringify({ id, step: o.step, as: o.as, by, status: statusOf(out.phase), inDoubt: doubt, next }) + '\n');
      } else {
        const w = (s: string) => process.stdout.write(s + '\n');
        w(`run ${id}: recorded that step ${o.step} is ${o.as === 'applied' ? 'applied (its effect is in place)' : 'absent (its effect is gone)'}, resolved by ${by}`);
        if (doubt.length) w(`still in doubt (flow will probe them): ${doubt.join(', ')}`);
        w(onlyBack ? `next: \`flow rollback ${id}\` finishes undoing the run` : `next: \`flow resume ${id}\` to go on with the run, or \`flow rollback ${id}\` to undo it`);
      }
      setCode(0);
    });
}
