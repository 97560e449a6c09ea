/**
 * Positioned YAML nodes and the helpers that read them, apart from the YAML parser (yaml.ts):
 * the checker also runs on a run's recorded definition, in every command that folds a
 * journal, which must not load the parser.
 */

export interface Pos {
  line: number;
  col: number;
}

/** A YAML node with where it starts in the file. */
export type PNode =
  | { kind: 'scalar'; value: string | number | boolean | null; pos: Pos; quoted: boolean }
  | { kind: 'seq'; items: PNode[]; pos: Pos }
  | { kind: 'map'; entries: { key: string; keyPos: Pos; value: PNode }[]; pos: Pos };

export interface Diagnostic {
  pos: Pos;
  /** what is wrong */
  message: string;
  /** what to do about it */
  fix: string;
}

/** The plain value of a node (for zod). */
export function plain(n: PNode): unknown {
  if (n.kind === 'scalar') return n.value;
  if (n.kind === 'seq') return n.items.map(plain);
  return Object.fromEntries(n.entries.map((e) => [e.key, plain(e.value)]));
}

/** The node at a path of keys and indexes, and the position to report for it. */
export function posAt(root: PNode, path: readonly PropertyKey[]): Pos {
  let n: PNode = root;
  let pos = root.pos;
  for (const k of path) {
    if (n.kind === 'map' && typeof k === 'string') {
      const e = n.entries.find((x) => x.key === k);
      if (!e) return pos;
      n = e.value;
      pos = e.value.kind === 'scalar' ? e.value.pos : e.keyPos;
    } else if (n.kind === 'seq' && typeof k === 'number' && n.items[k]) {
      n = n.items[k]!;
      pos = n.pos;
    } else return pos;
  }
  return pos;
}

/** The node at a path, if any. */
export function nodeAt(root: PNode, path: readonly PropertyKey[]): PNode | undefined {
  let n: PNode | undefined = root;
  for (const k of path) {
    if (!n) return undefined;
    if (n.kind === 'map' && typeof k === 'string') n = n.entries.find((x) => x.key === k)?.value;
    else if (n.kind === 'seq' && typeof k === 'number') n = n.items[k];
    else return undefined;
  }
  return n;
}
