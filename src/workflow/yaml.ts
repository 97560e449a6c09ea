/**
 * Reads a workflow file's YAML into plain positioned nodes, refusing hostile input in
 * bounded time and memory: a size limit, a pre-scan that bounds nesting before the YAML
 * library sees the text (its composer recurses: 20 000 nested `- ` exhaust the heap),
 * the core schema without custom tags, no explicit tags at all, a bounded number of
 * aliases and of expanded nodes (what toJS()'s maxAliasCount bounds; flow converts the nodes
 * itself to keep their positions), and no alias that refers to itself.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YNode } from 'yaml';

import type { Diagnostic, PNode, Pos } from './nodes.js';
export type { Diagnostic, PNode, Pos } from './nodes.js';
export { nodeAt, plain, posAt } from './nodes.js';

export const LIMITS = {
  /** bytes of a workflow file */
  maxBytes: 256 * 1024,
  /** characters of one line */
  maxLineLength: 4096,
  /** nesting of collections ([ { and indentation) */
  maxDepth: 32,
  /** aliases (*name) in a file */
  maxAliases: 64,
  /** nodes after aliases are expanded (an alias bomb stops here) */
  maxNodes: 20_000,
} as const;

export class YamlRefused extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join('; '));
  }
}

/**
 * Bounds nesting by a lexical scan, before any parser runs: flow brackets outside quotes
 * and comments, and each line's indentation together with its leading `- `/`? ` markers.
 */
export function prescan(text: string): Diagnostic | undefined {
  const lines = text.split('\n');
  let flow = 0;
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.length > LIMITS.maxLineLength) {
      return { pos: { line: i + 1, col: LIMITS.maxLineLength + 1 }, message: `line ${i + 1} is ${line.length} characters long (at most ${LIMITS.maxLineLength})`, fix: 'break the value over several lines or shorten it' };
    }
    if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(line)) {
      const col = line.search(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/) + 1;
      return { pos: { line: i + 1, col }, message: 'the file contains a control character', fix: 'a workflow file is plain text: remove it' };
    }
    const lead = /^[ \t?-]*/.exec(line)![0];
    const blockDepth = lead.replace(/\t/g, ' ').length / 2 + (lead.match(/[-?]/g)?.length ?? 0);
    if (blockDepth > LIMITS.maxDepth * 2) {
      return { pos: { line: i + 1, col: 1 }, message: `nesting too deep: line ${i + 1} is indented ${lead.length} characters`, fix: `a workflow file nests at most ${LIMITS.maxDepth} levels` };
    }
    let quote: string | null = null;
    for (let c = 0; c < line.length; c++) {
      const ch = line[c]!;
      if (quote) {
        if (ch === '\\' && quote === '"') c++;
        else if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '#' && (c === 0 || /\s/.test(line[c - 1]!))) break;
      else if ((ch === '[' || ch === '{') && /(?:^|[:,\[{?-])\s*$/.test(line.slice(0, c))) {
        // only where a flow collection can start (a `[` inside plain text is text)
        if (++flow > LIMITS.maxDepth) return { pos: { line: i + 1, col: c + 1 }, message: `nesting too deep: more than ${LIMITS.maxDepth} open brackets`, fix: `a workflow file nests at most ${LIMITS.maxDepth} levels` };
      } else if ((ch === ']' || ch === '}') && flow > 0) flow--;
    }
  }
  return undefined;
}

/** Parses YAML text into a positioned tree; throws YamlRefused with every problem found. */
export function parseYaml(text: string): PNode {
  const bytes = Buffer.byteLength(text);
  if (bytes > LIMITS.maxBytes) {
    throw new YamlRefused([{ pos: { line: 1, col: 1 }, message: `the file is ${bytes} bytes (at most ${LIMITS.maxBytes})`, fix: 'a workflow file is small: split it, or check that this is the right file' }]);
  }
  const pre = prescan(text);
  if (pre) throw new YamlRefused([pre]);
  const lc = new LineCounter();
  const doc = parseDocument(text, { schema: 'core', customTags: [], uniqueKeys: true, prettyErrors: false, lineCounter: lc, strict: true, merge: false, version: '1.2' });
  const at = (offset: number | undefined): Pos => {
    const p = lc.linePos(offset ?? 0);
    return { line: p.line, col: p.col };
  };
  const problems: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    const fix =
      e.code === 'DUPLICATE_KEY' ? 'remove one of the two entries' : e.code === 'TAG_RESOLVE_FAILED' ? 'remove the tag: workflow files use plain YAML values' : 'fix the YAML syntax';
    problems.push({ pos: at(e.pos[0]), message: `YAML: ${e.message.split('\n')[0]}`, fix });
  }
  if (problems.length) throw new YamlRefused(problems);
  if (!doc.contents) throw new YamlRefused([{ pos: { line: 1, col: 1 }, message: 'the file is empty', fix: 'start from `flow workflows --definition delayed-device`' }]);
  return convert(doc, at);
}

function convert(doc: Document, at: (o: number | undefined) => Pos): PNode {
  let nodes = 0;
  const resolved = new Map<unknown, YNode | undefined>();
  const expanding = new Set<YNode>();
  const refuse = (n: { range?: [number, number, number] | null }, message: string, fix: string): never => {
    throw new YamlRefused([{ pos: at(n.range?.[0]), message, fix }]);
  };
  const walk = (n: unknown, depth: number): PNode => {
    if (++nodes > LIMITS.maxNodes) refuse(n as YNode, `the file expands to more than ${LIMITS.maxNodes} values (an alias bomb?)`, 'use fewer aliases (*name)');
    if (depth > LIMITS.maxDepth) refuse(n as YNode, `nesting too deep (more than ${LIMITS.maxDepth} levels)`, `a workflow file nests at most ${LIMITS.maxDepth} levels`);
    if (isAlias(n)) {
      if (!resolved.has(n)) {
        if (resolved.size >= LIMITS.maxAliases) refuse(n, `more than ${LIMITS.maxAliases} aliases`, 'use fewer aliases (*name)');
        // resolve() walks the whole document: once per alias, not once per expansion
        resolved.set(n, n.resolve(doc) as YNode | undefined);
      }
      const target = resolved.get(n);
      if (!target) refuse(n, `alias *${n.source} refers to no anchor`, `define &${n.source} before using it`);
      if (expanding.has(target!)) refuse(n, `alias *${n.source} refers to a value that contains it (a reference cycle)`, 'an alias may only refer to a value it is not part of');
      expanding.add(target!);
      try {
        return walk(target, depth);
      } finally {
        expanding.delete(target!);
      }
    }
    const node = n as YNode;
    if (node.tag !== undefined && node.tag !== null) refuse(node, `tag ${node.tag} is not allowed`, 'remove the tag: workflow files use plain YAML values');
    const pos = at(node.range?.[0]);
    if (isScalar(node)) {
      const v = node.value;
      if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') refuse(node, 'unsupported value', 'use a string, number, true/false or null');
      if (typeof v === 'number' && !Number.isSafeInteger(v)) refuse(node, `${node.source ?? v} is not a whole number flow can represent exactly`, 'use a whole number below 2^53, or a size like 4G');
      return { kind: 'scalar', value: v as string | number | boolean | null, pos, quoted: node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' };
    }
    if (isSeq(node)) return { kind: 'seq', pos, items: node.items.map((x) => walk(x, depth + 1)) };
    if (isMap(node)) {
      const entries: { key: string; keyPos: Pos; value: PNode }[] = [];
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const k = item.key as YNode | null;
        if (!isScalar(k) || typeof k.value !== 'string') refuse(k ?? node, 'a key must be a plain name', 'write the key as a word, e.g. `name:`');
        const key = (k as { value: string }).value;
        entries.push({ key, keyPos: at(k!.range?.[0]), value: item.value === null ? { kind: 'scalar', value: null, pos: at(k!.range?.[1]), quoted: false } : walk(item.value, depth + 1) });
      }
      return { kind: 'map', pos, entries };
    }
    return refuse(node, 'unsupported YAML node', 'use maps, lists and plain values');
  };
  return walk(doc.contents, 0);
}

