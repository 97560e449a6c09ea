/**
 * `flow show <id>`: the run's device stack as a tree with the live state of each node,
 * then its params and steps. Read only: never takes the run lock, never appends to the
 * journal, and the kernel is only read (probes list and read).
 */
import type { Command } from 'commander';
import { openApp } from '../../app.js';
import type { Session } from '../../engine/session.js';
import { readOnceView } from '../../kernel/read-view.js';
import type { Kernel } from '../../kernel/types.js';
import { executors } from '../../steps/index.js';
import { kindHasInverse } from '../../steps/kinds/index.js';
import { installCommandLog } from '../log.js';
import { runJson, runOutputs, statusOf, stepJson } from '../render.js';
import { colourEnabled, paint } from '../show/colour.js';
import { treeText } from '../show/render.js';
import { buildTrees } from '../show/tree.js';
import { globalOpts, type GlobalOpts, type SetCode } from './common.js';
import { session } from './inspect.js';
import { fieldsText, paramText } from '../field-text.js';

export function registerShow(program: Command, setCode: SetCode): void {
  program
    .command('show <id>')
    .description("a run's device stack with the live state of each device, its params and steps")
    .option('--json', 'print one JSON object (with the tree)')
    .addHelpText(
      'after',
      `\nEach device is present, missing (the journal says it exists, the kernel has none), drifted (there, but not as
the journal says), or absent (not made yet, or removed). A snapshot shows how full its COW is (a warning
from 80 %, INVALID once it overflowed). Reads only: safe while the run is in progress.

Examples:
  flow show k3m9x2ab
  flow show k3m9x2ab --json`,
    )
    .action(async (id: string, o: { json?: boolean }, cmd: Command) => setCode(await showCommand(globalOpts(cmd), id, !!o.json)));
}

/** Live state of each step that leaves something behind: present, missing, or not applicable. */
async function liveState(kernel: Kernel, s: Session): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const st of s.state.steps) {
    if (!kindHasInverse(st.def.kind) || !st.args) continue;
    try {
      const r = await executors[st.def.kind].probe(st.args, st.marker ?? {}, st.status === 'applied' ? st.outputs : undefined, { kernel, midpoint: () => undefined });
      out[st.name] = r.found === 'applied' ? 'present' : r.found === 'absent' ? 'missing' : `${r.found}: ${r.detail}`;
    } catch (err) {
      out[st.name] = `cannot probe: ${(err as Error).message}`;
    }
  }
  return out;
}

export async function showCommand(opts: GlobalOpts, id: string, json: boolean): Promise<number> {
  const stopLog = installCommandLog(opts);
  try {
    return await show(opts.stateDir, id, json);
  } finally {
    stopLog();
  }
}

async function show(stateDir: string, id: string, json: boolean): Promise<number> {
  const app = await openApp(stateDir);
  const s = await session(app, id);
  // the live state and the tree probe the same steps: each listing and probe taken once
  const kernel = readOnceView(app.kernel);
  const live = await liveState(kernel, s);
  const trees = await buildTrees(kernel, s.state);
  const tree = trees[0] ?? null;
  const st = s.state;
  if (json) {
    process.stdout.write(JSON.stringify({ ...runJson(st, s.phase), outputs: runOutputs(st), params: st.params, created: st.created, updated: st.updated, live, tree, ...(trees.length > 1 ? { trees } : {}), ...(st.operator ? { operator: st.operator } : {}) }) + '\n');
    return 0;
  }
  const p = paint(colourEnabled(process.stdout));
  const w = process.stdout;
  w.write(`run ${p.bold(st.id)}  ${st.workflow}  ${statusOf(s.phase)}\n  created ${st.created}, last event ${st.updated}\n`);
  if (tree) w.write(`devices:\n${trees.flatMap((t) => treeText(p, t)).map((l) => `  ${l}`).join('\n')}\n`);
  w.write('params:\n');
  for (const [k, v] of Object.entries(st.params)) w.write(`  ${k.padEnd(14)} ${paramText(k, v)}\n`);
  w.write('steps:\n');
  for (const x of st.steps) {
    const j = stepJson(x);
    const o = x.outputs ? fieldsText(x.outputs) : '';
    w.write(`  ${x.status.padEnd(14)} ${x.name.padEnd(22)} ${live[x.name] ? `[${live[x.name]}] ` : ''}${o}${j.error ? ` error: ${j.error.message}` : ''}\n`);
  }
  if (st.operator) {
    w.write(`needs an operator at ${st.operator.step}: ${st.operator.reason}\n`);
    for (const c of st.operator.commands) w.write(`  ${c}\n`);
  }
  return 0;
}
