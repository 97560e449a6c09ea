/**
 * A run's recorded workflow definition (RunStarted.definition): its canonical JSON, sha256,
 * and the checked workflow rebuilt from the data alone. Kept apart from the YAML parser:
 * every command that folds a journal loads this.
 */
import { createHash } from 'node:crypto';
import { checkTree } from './check.js';
import type { Workflow } from './definition.js';
import type { PNode } from './nodes.js';
import { cachedRecorded } from './builtin-cache.js';

/** The canonical JSON text of a definition. */
export function canonicalJson(definition: unknown): string {
  return JSON.stringify(definition);
}

export function sha256Of(definition: unknown): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

/** A positioned tree of plain data (a recorded definition has no file positions). */
function toNode(v: unknown): PNode {
  const pos = { line: 1, col: 1 };
  if (Array.isArray(v)) return { kind: 'seq', items: v.map(toNode), pos };
  if (v !== null && typeof v === 'object') return { kind: 'map', entries: Object.entries(v).map(([key, x]) => ({ key, keyPos: pos, value: toNode(x) })), pos };
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { kind: 'scalar', value: v, pos, quoted: typeof v === 'string' };
  throw new Error(`not plain data: ${typeof v}`);
}

/** A recorded definition's workflow, checked as a file would be; throws with the problems (the journal does not fit). */
export function workflowFromDefinition(definition: unknown, label: string): Workflow {
  return cachedRecorded(canonicalJson(definition), label) ?? checkRecorded(definition, label);
}

/** workflowFromDefinition without the build's cache of the built-ins (builtin-cache.ts): what the cache holds. */
export function checkRecorded(definition: unknown, label: string): Workflow {
  const r = checkTree(toNode(definition), label);
  if (!r.workflow) throw new Error(r.problems.map((p) => `${p.message}`).join('; '));
  return r.workflow;
}
