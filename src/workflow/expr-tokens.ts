/**
 * The tokens of the expression language (src/workflow/expr.ts, which parses them): integers,
 * strings, names and operators, within the limits of EXPR_LIMITS; and the error at an offset
 * of the source that the tokenizer, the parser, the type checker and the evaluator throw.
 */

export interface Span {
  /** offset of the first character, within the source string */
  at: number;
  end: number;
}

export const EXPR_LIMITS = { maxLength: 1000, maxDepth: 32, maxTokens: 400 } as const;

/** An error at an offset of the expression's source. */
export class ExprError extends Error {
  constructor(
    message: string,
    readonly at: number,
    readonly fix: string,
  ) {
    super(message);
  }
}

/** A token, where it stands in the source. */
export type Tok = Span & ({ k: 'int'; v: number } | { k: 'str'; v: string } | { k: 'name'; v: string } | { k: 'op'; v: string } | { k: 'end' });

const OPS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '+', '-', '*', '/', '%', '(', ')', '[', ']', ',', '.', '?', ':', '!', '}'];
const NAME = /[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*/y;

/** Tokens from `start` up to the end or, in a template, the closing `}` (returned as an op). */
export function tokenize(src: string, start: number, inTemplate: boolean): Tok[] {
  const toks: Tok[] = [];
  let i = start;
  for (;;) {
    while (i < src.length && (src[i] === ' ' || src[i] === '\t' || src[i] === '\n')) i++;
    if (toks.length > EXPR_LIMITS.maxTokens) throw new ExprError(`expression too long (more than ${EXPR_LIMITS.maxTokens} tokens)`, i, 'split it with `values:`');
    if (i >= src.length) {
      if (inTemplate) throw new ExprError('`${` is not closed by `}`', start - 2, 'close it with `}`, or write `$${` for a literal `${`');
      toks.push({ k: 'end', at: i, end: i });
      return toks;
    }
    const c = src[i]!;
    if (c >= '0' && c <= '9') {
      const m = /[0-9]+/y;
      m.lastIndex = i;
      const s = m.exec(src)![0];
      if (/[A-Za-z_]/.test(src[i + s.length] ?? '')) throw new ExprError(`${JSON.stringify(src.slice(i, i + s.length + 1))} is not a number`, i, 'a number is digits only; sizes are written in bytes or come from a size param');
      const v = Number(s);
      if (!Number.isSafeInteger(v)) throw new ExprError(`${s} is too large (integers are at most 2^53 - 1)`, i, 'use a smaller number');
      toks.push({ k: 'int', v, at: i, end: i + s.length });
      i += s.length;
      continue;
    }
    if (c === '"' || c === "'") {
      let v = '';
      let j = i + 1;
      for (;;) {
        if (j >= src.length) throw new ExprError('string not closed', i, `close it with ${c}`);
        const d = src[j]!;
        if (d === c) break;
        if (d === '\\') {
          const e = src[j + 1];
          if (e === '\\' || e === '"' || e === "'") {
            v += e;
            j += 2;
            continue;
          }
          throw new ExprError(`unknown escape \\${e ?? ''}`, j, 'only \\\\, \\" and \\\' are escapes');
        }
        if (d < ' ' || d === '\x7f') throw new ExprError('control character in a string', j, 'remove it');
        v += d;
        j++;
      }
      toks.push({ k: 'str', v, at: i, end: j + 1 });
      i = j + 1;
      continue;
    }
    NAME.lastIndex = i;
    const nm = NAME.exec(src);
    if (nm) {
      toks.push({ k: 'name', v: nm[0], at: i, end: i + nm[0].length });
      i += nm[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExprError(`unexpected character ${JSON.stringify(c)}`, i, 'see the expression syntax in docs/WORKFLOWS.md');
    toks.push({ k: 'op', v: op, at: i, end: i + op.length });
    i += op.length;
    if (op === '}') {
      if (!inTemplate) throw new ExprError('unexpected `}`', i - 1, 'remove it');
      return toks;
    }
  }
}

/** A token as an error message names it. */
export function describe(t: Tok): string {
  if (t.k === 'end') return 'the end of the expression';
  if (t.k === 'str') return `string ${JSON.stringify(t.v)}`;
  return JSON.stringify(String(t.v));
}
