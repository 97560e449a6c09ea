/** Read-only commands: list, log, workflows. They never write a journal. */
import type { Command } from 'commander';
import { listRuns } from '../../../journal/run-index.js';
import { etcWorkflowsDir } from '../../workflow/where.js';
import { openApp, type App } from '../../app.js';
import { Session } from '../../engine/session.js';
import { eventLine, statusOf } from '../render.js';
import { printRuns } from './list-output.js';
import { globalOpts as global, type SetCode } from './common.js';

/** The examples in `--help` of the read-only commands. */
export const EXAMPLES = {
  list: `\nExamples:\n  flow list\n  flow list --json\n  flow --state-dir /srv/flow-state list`,
  log: `\nExamples:\n  flow log k3m9x2ab\n  flow log k3m9x2ab --json`,
  workflows: `\nExamples:\n  flow workflows\n  flow workflows --json\n  flow workflows --definition delayed-device > mine.yaml   # then edit it, flow check ./mine.yaml, flow run ./mine.yaml ...\n\nWorkflows are found in this order: a path on the command line (flow run ./mine.yaml), /etc/flow/workflows/NAME.yaml, the built-ins.`,
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
  program.command('workflows').description('workflows with their options, defaults and where each comes from').option('--json', 'print a JSON array').option('--definition <NAME>', "print a workflow's file (a start for one's own)").addHelpText('after', EXAMPLES.workflows)
    .action(async (o: { json?: boolean; definition?: string }) => setCode(await workflowsCommand(!!o.json, o.definition)));
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

/**
 * `flow workflows`: every workflow flow finds by name, where it comes from (built-in, or a
 * file in /etc/flow/workflows, marked when it shadows a built-in), and its options.
 * `--definition NAME` prints that workflow's file.
 */
export async function workflowsCommand(json: boolean, definition?: string): Promise<number> {
  const { listWorkflows, loadWorkflow } = await import('../../workflow/source.js');
  const { optionOf } = await import('../../workflow/params.js');
  const etcDir = etcWorkflowsDir();
  if (definition !== undefined) {
    process.stdout.write((await loadWorkflow(definition, { etcDir })).text);
    return 0;
  }
  const found = await listWorkflows(etcDir);
  const list = found.map((f) => {
    const from = f.source.kind === 'builtin' ? 'built-in' : `${f.source.path}${f.shadows ? ' (shadows the built-in)' : ''}`;
    if (!f.loaded) return { name: f.name, from, source: f.source, shadows: f.shadows, error: f.error ?? '' };
    const w = f.loaded.workflow;
    return { name: w.name, version: w.version, description: w.description, from, source: f.source, shadows: f.shadows, options: w.params.map(([n, p]) => optionOf(n, p)), examples: w.examples };
  });
  if (json) {
    process.stdout.write(JSON.stringify(list) + '\n');
    return 0;
  }
  for (const w of list) {
    if ('error' in w) {
      process.stdout.write(`${w.name}  [${w.from}]  not usable: ${(w.error ?? '').split('\n')[0]}\n\n`);
      continue;
    }
    process.stdout.write(`${w.name}  ${w.description}  [${w.from}]\n`);
    for (const o of w.options) {
      const flag = o.value ? `${o.flag} ${o.value}` : o.flag;
      process.stdout.write(`    ${flag.padEnd(24)} ${o.description}${o.default ? ` (default: ${o.default})` : ''}${o.required ? ' (required)' : ''}\n`);
    }
    process.stdout.write('\n');
  }
  return 0;
}
