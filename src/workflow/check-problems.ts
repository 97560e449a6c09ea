/** flow check's problems: each at file:line:column with what is wrong and the fix; the schema's (zod) in flow's words. */
import type { ZodError } from 'zod';
import { KIND_NAMES } from './kinds.js';
import { PARAM_TYPES } from './params.js';
import { nodeAt, plain, posAt, type Diagnostic, type PNode, type Pos } from './nodes.js';

export class Problems {
  readonly list: Diagnostic[] = [];
  add(pos: Pos, message: string, fix: string): void {
    this.list.push({ pos, message, fix });
  }
}

/** The position of offset `at` inside a scalar node's text (quoted: one more for the quote). */
export function exprPos(node: PNode, at: number): Pos {
  if (node.kind !== 'scalar' || typeof node.value !== 'string' || node.value.slice(0, at).includes('\n')) return node.pos;
  return { line: node.pos.line, col: node.pos.col + (node.quoted ? 1 : 0) + at };
}

export function keyPos(root: PNode, path: readonly PropertyKey[], key: string): Pos {
  const n = nodeAt(root, path);
  if (n?.kind === 'map') return n.entries.find((e) => e.key === key)?.keyPos ?? n.pos;
  return posAt(root, path);
}

export function zodProblems(err: ZodError, root: PNode, p: Problems): void {
  for (const i of err.issues) {
    const path = i.path as PropertyKey[];
    const where = path.length ? path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('').replace(/^\./, '') : 'the file';
    const pos = posAt(root, path);
    switch (i.code) {
      case 'unrecognized_keys':
        for (const k of i.keys) p.add(keyPos(root, path, k), `${where === 'the file' ? 'unknown top-level field' : `unknown field in ${where}:`} ${JSON.stringify(k)}`, fieldsHint(root, path));
        break;
      case 'invalid_type':
        if (nodeAt(root, path) === undefined) p.add(pos, `${where} is missing`, `add ${String(path[path.length - 1])}: (${i.expected})`);
        else p.add(pos, `${where} must be ${i.expected === 'record' ? 'a map (name: value)' : i.expected === 'array' ? 'a list' : i.expected === 'object' ? 'a map (name: value)' : `a ${i.expected}`}`, 'see docs/WORKFLOWS.md for the format');
        break;
      case 'invalid_value':
        if (path[path.length - 1] === 'kind') p.add(pos, `${where}: unknown step kind ${shown(root, path)}`, `use one of: ${KIND_NAMES.join(', ')}`);
        else p.add(pos, `${where}: ${i.message}`, `use one of: ${i.values.map(String).join(', ')}`);
        break;
      case 'invalid_union':
        if (path[0] === 'params' && (path.length === 2 || (path.length === 3 && path[2] === 'type'))) {
          p.add(posAt(root, [...path.slice(0, 2), 'type']), `${where}: unknown or missing param type`, `type: one of ${PARAM_TYPES.join(', ')}`);
          break;
        }
        p.add(pos, `${where}: ${i.message}`, 'see docs/WORKFLOWS.md for the format');
        break;
      case 'invalid_key': {
        const key = String(path[path.length - 1]);
        const what = { params: 'a param', values: 'a value', outputs: 'an output' }[String(path[0])] ?? 'a key';
        p.add(keyPos(root, path.slice(0, -1), key), `${JSON.stringify(key)} is not a valid name for ${what}`, 'a name is lower-case words joined by -, e.g. cow-size');
        break;
      }
      case 'too_small':
        p.add(pos, `${where} is empty`, path[0] === 'steps' && path.length === 1 ? 'a workflow has at least one step' : 'give it a value');
        break;
      case 'invalid_format':
        p.add(pos, `${where}: ${shown(root, path)} is not a valid name`, 'a name is lower-case words joined by -, e.g. attach-image');
        break;
      default:
        p.add(pos, `${where}: ${i.message}`, 'see docs/WORKFLOWS.md for the format');
    }
  }
  // a record key that is not a valid name comes out as a nameless path: report it at the key
}

/** `size-1` or `sectors-params`: a known name, a `-`, and the rest (a subtraction written without spaces). */
export function subtraction(name: string, known: (n: string) => boolean): [string, string] | undefined {
  for (let i = name.indexOf('-'); i > 0; i = name.indexOf('-', i + 1)) {
    if (known(name.slice(0, i))) return [name.slice(0, i), name.slice(i + 1)];
  }
  return undefined;
}

/** The value at a path, for a message. */
function shown(root: PNode, path: readonly PropertyKey[]): string {
  const n = nodeAt(root, path);
  return n ? JSON.stringify(plain(n)) : 'the value';
}

function fieldsHint(root: PNode, path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'top-level fields: name, version, description, examples, params, values, checks, steps, outputs';
  if (path[0] === 'steps' && path.length === 2) return 'a step has: name, kind, title, when, with';
  if (path[0] === 'params' && path.length === 2) {
    const t = plain(nodeAt(root, [...path, 'type']) ?? { kind: 'scalar', value: null, pos: { line: 1, col: 1 }, quoted: false });
    return `a param of type ${String(t)} has: type, description, required, default, default-text, value-name, checks and its type's own fields (docs/WORKFLOWS.md)`;
  }
  return 'remove it (check its spelling)';
}
