/** Read-only commands: list, show, log, workflows. They never write a journal. */
import { listRuns } from '../../../journal/run-index.js';
import { workflows } from '../../../machines/index.js';
import { HAS_INVERSE } from '../../../machines/types.js';
import { openApp, type App } from '../../app.js';
import { Session } from '../../engine/session.js';
import { executors } from '../../steps/index.js';
import { eventLine, runJson, runOutputs, statusOf, stepJson } from '../render.js';

async function session(app: App, id: string): Promise<Session> {
  return Session.open(await app.store.load(id));
}

export async function listCommand(stateDir: string, json: boolean): Promise<number> {
  const app = await openApp(stateDir);
  const runs = await listRuns(app.store, app.locks, async (id) => {
    const s = await session(app, id);
    const st = s.state;
    return { id, workflow: st.workflow, status: statusOf(s.phase), created: st.created, updated: st.updated, ...(st.key ? { key: st.key } : {}) };
  });
  if (json) {
    process.stdout.write(JSON.stringify(runs.map((r) => ('corrupt' in r ? { id: r.id, status: 'corrupt', error: r.corrupt } : { id: r.id, workflow: r.workflow, status: r.status, created: r.created, updated: r.updated, ...(r.key ? { key: r.key } : {}) }))) + '\n');
    return 0;
  }
  if (runs.length === 0) {
    process.stdout.write('no runs\n');
    return 0;
  }
  process.stdout.write(`${'ID'.padEnd(10)}${'WORKFLOW'.padEnd(17)}${'STATUS'.padEnd(15)}CREATED\n`);
  for (const r of runs) {
    if ('corrupt' in r) process.stdout.write(`${r.id.padEnd(10)}${'?'.padEnd(17)}${'corrupt'.padEnd(15)}${r.corrupt}\n`);
    else process.stdout.write(`${r.id.padEnd(10)}${r.workflow.padEnd(17)}${r.status.padEnd(15)}${r.created}${r.key ? `  key=${r.key}` : ''}\n`);
  }
  return 0;
}

/** Live state of each step that leaves something behind: present, missing, or not applicable. */
async function liveState(app: App, s: Session): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const st of s.state.steps) {
    if (!HAS_INVERSE[st.def.kind] || !st.args) continue;
    try {
      const r = await executors[st.def.kind].probe(st.args, st.marker ?? {}, st.status === 'applied' ? st.outputs : undefined, { kernel: app.kernel, midpoint: () => undefined });
      out[st.name] = r.found === 'applied' ? 'present' : r.found === 'absent' ? 'missing' : `${r.found}: ${r.detail}`;
    } catch (err) {
      out[st.name] = `cannot probe: ${(err as Error).message}`;
    }
  }
  return out;
}

export async function showCommand(stateDir: string, id: string, json: boolean): Promise<number> {
  const app = await openApp(stateDir);
  const s = await session(app, id);
  const live = await liveState(app, s);
  const st = s.state;
  if (json) {
    process.stdout.write(JSON.stringify({ ...runJson(st, s.phase), outputs: runOutputs(st), params: st.params, created: st.created, updated: st.updated, live, ...(st.operator ? { operator: st.operator } : {}) }) + '\n');
    return 0;
  }
  const w = process.stdout;
  w.write(`run ${st.id}  ${st.workflow}  ${statusOf(s.phase)}\n  created ${st.created}, last event ${st.updated}\n`);
  w.write('params:\n');
  for (const [k, v] of Object.entries(st.params)) w.write(`  ${k.padEnd(14)} ${typeof v === 'string' ? v : JSON.stringify(v)}\n`);
  w.write('steps:\n');
  for (const x of st.steps) {
    const j = stepJson(x);
    const o = x.outputs ? Object.entries(x.outputs).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') : '';
    w.write(`  ${x.status.padEnd(14)} ${x.name.padEnd(22)} ${live[x.name] ? `[${live[x.name]}] ` : ''}${o}${j.error ? ` error: ${j.error.message}` : ''}\n`);
  }
  if (st.operator) {
    w.write(`needs an operator at ${st.operator.step}: ${st.operator.reason}\n`);
    for (const c of st.operator.commands) w.write(`  ${c}\n`);
  }
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
