/**
 * The step kinds' reference in the README and docs/WORKFLOWS.md, rendered from the specs
 * (src/steps/kinds/<kind>.ts). test/unit/steps/kinds.test.ts fails when a document's
 * section differs from this rendering; `node scripts/gen-kinds-reference.mjs` rewrites them.
 */
import { tyName } from '../../workflow/typecheck.js';
import { KIND_SPECS } from './index.js';
import type { KindSpec } from './spec.js';

/** The markers around a generated section. */
export const BEGIN = '<!-- step kinds: generated from src/steps/kinds by scripts/gen-kinds-reference.mjs; do not edit -->';
export const END = '<!-- step kinds: end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');
const rollback = (s: KindSpec) => ('undo' in s.inverse ? s.inverse.undo : `none: ${s.inverse.none.replace(/^[^:]*: /, '')}`);

/** The README's table: one row per kind. */
export function kindsTable(): string {
  const rows = Object.values(KIND_SPECS).map((s) => {
    const args = Object.entries(s.args).map(([n, a]) => (a.optional ? `[\`${n}\`]` : `\`${n}\``)).join(', ');
    const outs = Object.keys(s.outputs).map((n) => `\`${n}\``).join(', ') || '(none)';
    return `| \`${s.kind}\` | ${cell(s.summary)} | ${args} | ${outs} | ${s.durable ? 'yes' : 'no'} | ${cell(rollback(s))} |`;
  });
  return ['| kind | what it does | `with:` ([optional]) | outputs | durable | rollback |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** docs/WORKFLOWS.md's reference: every argument and output with its type and meaning. */
export function kindsReference(): string {
  return Object.values(KIND_SPECS)
    .map((s) => {
      const args = Object.entries(s.args).map(([n, a]) => `  - \`${n}\` (${a.shown ?? tyName(a.ty)}${a.optional ? ', optional' : ''}): ${a.doc}`);
      const outs = Object.entries(s.outputs).map(([n, t]) => `  - \`${n}\` (${tyName(t)}): ${s.outputDocs[n] ?? ''}`);
      return [
        `### \`${s.kind}\``,
        '',
        `${s.summary[0]!.toUpperCase()}${s.summary.slice(1)}. Durable (survives a reboot): ${s.durable ? 'yes' : 'no'}. Rollback: ${rollback(s)}.${s.refuses ? ` Refused before anything changes: ${s.refuses}.` : ''}`,
        '',
        '- `with:`',
        ...args,
        ...(s.added?.length ? [`  - set by flow, never in a file: ${s.added.map((n) => `\`${n}\``).join(', ')}`] : []),
        outs.length ? '- outputs (`steps.NAME.X`)' : '- outputs: none',
        ...outs,
      ].join('\n');
    })
    .join('\n\n');
}

/** `doc` with the section between the markers replaced by `body`; throws when the markers are missing. */
export function withSection(doc: string, body: string): string {
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  if (i < 0 || j < i) throw new Error('the step kinds markers are missing');
  return `${doc.slice(0, i + BEGIN.length)}\n${body}\n${doc.slice(j)}`;
}
