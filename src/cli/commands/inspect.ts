/** Read-only commands: list, log, workflows. They never write a journal. */
import type { Command } from 'commander';
import { listRuns } from '../../../journal/run-index.js';
import { workflows } from '../../../machines/index.js';
import { openApp, type App } from '../../app.js';
import { Session } from '../../engine/session.js';
import { eventLine, statusOf } from '../render.js';
import { printRuns } from './list-output.js';
import { globalOpts as global, type SetCode } from './common.js';

/** The examples in `--help` of the read-only commands. */
export const EXAMPLES = {
  list: `\nExamples:\n  flow list\n  flow list --json\n  flow --state-dir /srv/flow-state list`,
  log: `\nExamples:\n  flow log k3m9x2ab\n  flow log k3m9x2ab --json`,
  workflows: `\nExamples:\n  flow workflows\n  flow workflows --json`,
};

export function registerList(program: Command, setCode: SetCode): void {
  program.command('list').description('list runs, oldest first').option('--json', 'print a JSON array').addHelpText('after', EXAMPLES.list)
    .action(async (o: { json?: boolean }, cmd: Command) => setCode(await listCommand(global(cmd).stateDir, !!o.json)));
}

export function registerLog(program: Command, setCode: SetCode): void {
  program.command('log <id>').description("a run's journal events, oldest first").option('--json', 'print a JSON array').addHelpText('after', EXAMPLES.log)
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => setCode(await logCommand(global(cmd).stateDir, id, !!o.json)));
}

export function registerWorkflows(program: Command, setCode: SetCode): void {
  program.command('workflows').description('workflows with their options and defaults').option('--json', 'print a JSON array').addHelpText('after', EXAMPLES.workflows)
    .action(async (o: { json?: boolean }) => setCode(workflowsCommand(!!o.json)));
}

export async function session(app: App, id: string): Promise<Session> {
  return Session.open(await app.store.load(id));
}

export async function listCommand(stateDir: string, json: boolean): Promise<number> {
  const app = await openApp(stateDir);
  const runs = await listRuns(app.store, app.locks, async (id) => {
    const s = await session(app, id);
    const st = s.state;
    return { id, workflow: st.workflow, status: statusOf(s.phase), created: st.created, updated: st.updated, ...(st.key ? { key: st.key } : {}) };
  });
  printRuns(runs, json);
  return 0;
}

export async function logCommand(stateDir: string, id: string, json: boolean): Promise<number> {
  const app = await openApp(stateDir);
  const j = await app.store.load(id);
  Session.open(j); // validates the sequence too
  if (json) process.stdout.write(JSON.stringify(j.events) + '\n');
  else for (const e of j.events) process.stdout.write(eventLine(e) + '\n');
  return 0;
}

export function workflowsCommand(json: boolean): number {
  const list = Object.values(workflows).map((w) => ({ name: w.name, version: w.version, description: w.description, options: w.options, examples: w.examples }));
  if (json) {
    process.stdout.write(JSON.stringify(list) + '\n');
    return 0;
  }
  for (const w of list) {
    process.stdout.write(`${w.name}  ${w.description}\n`);
    for (const o of w.options) {
      const flag = o.value ? `${o.flag} ${o.value}` : o.flag;
      process.stdout.write(`    ${flag.padEnd(24)} ${o.description}${o.default ? ` (default: ${o.default})` : ''}${o.required ? ' (required)' : ''}\n`);
    }
    process.stdout.write('\n');
  }
  return 0;
}
