/** `flow plan` on the terminal. */
import { paramText } from '../field-text.js';
import { KIND_SPECS } from '../../steps/kinds/index.js';
import type { Plan } from './build.js';
import { hasPlaceholder } from '../../steps/kinds/placeholders.js';

export function planText(p: Plan): string {
  const out: string[] = [];
  out.push(`plan for ${p.workflow}: nothing was changed, no run was recorded`);
  out.push(`  names below use the provisional id ${p.id}; \`flow run\` gives the run its own id`);
  out.push('params:');
  for (const [k, v] of Object.entries(p.params)) out.push(`  ${k.padEnd(14)} ${paramText(k, v)}`);
  out.push('steps (rollback undoes them last step first):');
  const width = Math.max(...p.steps.map((s) => s.name.length));
  p.steps.forEach((s, i) => {
    out.push(`  ${String(i + 1).padStart(2)}. ${s.name.padEnd(width)}  ${s.title}  [${s.kind}]`);
    s.command.forEach((c, j) => out.push(`        ${j === 0 ? 'run ' : '    '}  ${c}`));
    if (s.inverse.length === 0) {
      const inv = KIND_SPECS[s.kind].inverse;
      out.push(`        undo  (${'none' in inv ? inv.none : 'none'})`);
    }
    s.inverse.forEach((c, j) => out.push(`        ${j === 0 ? 'undo' : '    '}  ${c}`));
  });
  if (p.steps.some((s) => [...s.command, ...s.inverse].some(hasPlaceholder))) {
    out.push('<... of STEP>: known once STEP has run (the kernel picks loop, dm and zram numbers then)');
  }
  return out.join('\n') + '\n';
}
