/** What `flow list` prints, from the listed runs: shared by the full command (inspect.ts) and the fast path (list-fast.ts). */
import type { ListedRun } from '../../../journal/run-index.js';

export function printRuns(runs: readonly ListedRun[], json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify(runs.map((r) => ('corrupt' in r ? { id: r.id, status: 'corrupt', error: r.corrupt } : { id: r.id, workflow: r.workflow, status: r.status, created: r.created, updated: r.updated, ...(r.key ? { key: r.key } : {}) }))) + '\n');
    return;
  }
  if (runs.length === 0) {
    process.stdout.write('no runs\n');
    return;
  }
  let out = `${'ID'.padEnd(10)}${'WORKFLOW'.padEnd(17)}${'STATUS'.padEnd(15)}CREATED\n`;
  for (const r of runs) {
    if ('corrupt' in r) out += `${r.id.padEnd(10)}${'?'.padEnd(17)}${'corrupt'.padEnd(15)}${r.corrupt}\n`;
    else out += `${r.id.padEnd(10)}${r.workflow.padEnd(17)}${r.status.padEnd(15)}${r.created}${r.key ? `  key=${r.key}` : ''}\n`;
  }
  process.stdout.write(out);
}
