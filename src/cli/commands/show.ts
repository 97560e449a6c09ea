/** `flow show <id>`: a run's params, steps, outputs and the live state of its devices. Read only. */
import { HAS_INVERSE } from '../../../machines/types.js';
import { openApp, type App } from '../../app.js';
import type { Session } from '../../engine/session.js';
import { executors } from '../../steps/index.js';
import { runJson, runOutputs, statusOf, stepJson } from '../render.js';
import { session } from './inspect.js';

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

