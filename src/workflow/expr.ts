/**
 * The expression language of workflow files: a recursive-descent parser over its tokens
 * (src/workflow/expr-tokens.ts; never JavaScript eval). Grammar, lowest precedence first:
 *
 *   expr    := or ( '?' expr ':' expr )?
 *   or      := and ( '||' and )*
 *   and     := not ( '&&' not )*
 *   not     := '!' not | cmp
 *   cmp     := add ( ( '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' ) add )?
 *   add     := mul ( ( '+' | '-' ) mul )*
 *   mul     := unary ( ( '*' | '/' | '%' ) unary )*
 *   unary   := '-' unary | primary
 *   primary := INT | STRING | 'true' | 'false' | 'null' | '(' expr ')'
 *            | '[' ( expr ( ',' expr )* )? ']'
 *            | ( 'min' | 'max' | 'str' | 'size' ) '(' expr ( ',' expr )* ')'
 *   (size(n): n bytes as a size, e.g. 1G, 1536M, 10001K)
 *            | ( 'params' | 'run' | 'values' | 'steps' | 'given' | 'host' ) ( '.' NAME )+
 *   (`given.NAME`, only in `checks:`: the option's text as typed, null when left out;
 *    `host.NAME`, only in `checks:`: a fact of the machine preflight runs on, e.g. host.memory)
 *   NAME    := [A-Za-z_][A-Za-z0-9_]* ( '-' [A-Za-z0-9_]+ )*   (so write `a - 1`, not `a-1`)
 *
 * A string value in a workflow file is a template: text with `${expr}` parts; `$${` is a
 * literal `${`. A template that is exactly one `${expr}` has that expression's type.
 */
import { describe, EXPR_LIMITS, ExprError, tokenize, type Span, type Tok } from './expr-tokens.js';

export { EXPR_LIMITS, ExprError, type Span };

export type Ast = Span &
  (
    | { t: 'int'; v: number }
    | { t: 'str'; v: string }
    | { t: 'bool'; v: boolean }
    | { t: 'null' }
    | { t: 'list'; items: Ast[] }
    | { t: 'ref'; root: RefRoot; path: string[] }
    | { t: 'neg'; e: Ast }
    | { t: 'not'; e: Ast }
    | { t: 'bin'; op: BinOp; l: Ast; r: Ast }
    | { t: 'cond'; c: Ast; a: Ast; b: Ast }
    | { t: 'call'; fn: Fn; args: Ast[] }
  );

export type RefRoot = 'params' | 'run' | 'values' | 'steps' | 'given' | 'host';
export type Fn = 'min' | 'max' | 'str' | 'size';
export type BinOp = '+' | '-' | '*' | '/' | '%' | '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||' | 'in';

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok {
    return this.toks[this.i]!;
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t.k === 'op' && t.v === v;
  }
  private expect(v: string, what: string): Tok {
    const t = this.peek();
    if (t.k !== 'op' || t.v !== v) throw new ExprError(`expected ${JSON.stringify(v)} ${what}, found ${describe(t)}`, t.at, `add ${JSON.stringify(v)}`);
    this.i++;
    return t;
  }
  private nest<T>(f: () => T): T {
    if (++this.depth > EXPR_LIMITS.maxDepth) throw new ExprError(`expression nested too deeply (more than ${EXPR_LIMITS.maxDepth} levels)`, this.peek().at, 'split it with `values:`');
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  parseAll(endOp?: string): Ast {
    const e = this.expr();
    const t = this.peek();
    if (endOp ? !(t.k === 'op' && t.v === endOp) : t.k !== 'end') throw new ExprError(`unexpected ${describe(t)}`, t.at, endOp ? 'end the expression with `}`' : 'an expression is one value: check the operators between its parts');
    return e;
  }

  expr(): Ast {
    return this.nest(() => {
      const c = this.or();
      if (!this.isOp('?')) return c;
      this.i++;
      const a = this.expr();
      this.expect(':', 'in `cond ? a : b`');
      const b = this.expr();
      return { t: 'cond', c, a, b, at: c.at, end: b.end };
    });
  }
  private binary(next: () => Ast, ops: string[]): Ast {
    let l = next();
    for (;;) {
      const t = this.peek();
      if (t.k !== 'op' || !ops.includes(t.v)) return l;
      this.i++;
      const r = next();
      l = { t: 'bin', op: t.v as BinOp, l, r, at: l.at, end: r.end };
    }
  }
  private or(): Ast {
    return this.binary(() => this.and(), ['||']);
  }
  private and(): Ast {
    return this.binary(() => this.not(), ['&&']);
  }
  private not(): Ast {
    const t = this.peek();
    if (t.k === 'op' && t.v === '!') {
      this.i++;
      const e = this.nest(() => this.not());
      return { t: 'not', e, at: t.at, end: e.end };
    }
    return this.cmp();
  }
  private cmp(): Ast {
    const l = this.add();
    const t = this.peek();
    const isCmp = (t.k === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.v)) || (t.k === 'name' && t.v === 'in');
    if (!isCmp) return l;
    this.i++;
    const r = this.add();
    const u = this.peek();
    if ((u.k === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(u.v)) || (u.k === 'name' && u.v === 'in')) {
      throw new ExprError('comparisons do not chain', u.at, 'use `a < b && b < c`');
    }
    return { t: 'bin', op: t.v as BinOp, l, r, at: l.at, end: r.end };
  }
  private add(): Ast {
    return this.binary(() => this.mul(), ['+', '-']);
  }
  private mul(): Ast {
    return this.binary(() => this.unary(), ['*', '/', '%']);
  }
  private unary(): Ast {
    const t = this.peek();
    if (t.k === 'op' && t.v === '-') {
      this.i++;
      const e = this.nest(() => this.unary());
      return { t: 'neg', e, at: t.at, end: e.end };
    }
    return this.primary();
  }
  private primary(): Ast {
    const t = this.peek();
    this.i++;
    if (t.k === 'int') return { t: 'int', v: t.v, at: t.at, end: t.end };
    if (t.k === 'str') return { t: 'str', v: t.v, at: t.at, end: t.end };
    if (t.k === 'op' && t.v === '(') {
      const e = this.expr();
      this.expect(')', 'to close `(`');
      return e;
    }
    if (t.k === 'op' && t.v === '[') {
      const items: Ast[] = [];
      if (!this.isOp(']')) {
        items.push(this.expr());
        while (this.isOp(',')) {
          this.i++;
          items.push(this.expr());
        }
      }
      const close = this.expect(']', 'to close the list');
      return { t: 'list', items, at: t.at, end: close.end };
    }
    if (t.k === 'name') {
      if (t.v === 'true' || t.v === 'false') return { t: 'bool', v: t.v === 'true', at: t.at, end: t.end };
      if (t.v === 'null') return { t: 'null', at: t.at, end: t.end };
      if (t.v === 'min' || t.v === 'max' || t.v === 'str' || t.v === 'size') {
        this.expect('(', `after ${t.v}`);
        const args = [this.expr()];
        while (this.isOp(',')) {
          this.i++;
          args.push(this.expr());
        }
        const close = this.expect(')', `to close ${t.v}(`);
        return { t: 'call', fn: t.v, args, at: t.at, end: close.end };
      }
      if (t.v === 'params' || t.v === 'run' || t.v === 'values' || t.v === 'steps' || t.v === 'given' || t.v === 'host') {
        const path: string[] = [];
        let end = t.end;
        while (this.isOp('.')) {
          this.i++;
          const n = this.peek();
          if (n.k !== 'name') throw new ExprError(`expected a name after "." , found ${describe(n)}`, n.at, `e.g. ${t.v}.NAME`);
          this.i++;
          path.push(n.v);
          end = n.end;
        }
        if (path.length === 0) throw new ExprError(`${t.v} alone is not a value`, t.at, `name what you want from it, e.g. ${t.v}.NAME`);
        return { t: 'ref', root: t.v, path, at: t.at, end };
      }
      throw new ExprError(`unknown name ${JSON.stringify(t.v)}`, t.at, 'a value is a number, a string in quotes, true, false, null, min(...), max(...), str(...), or a reference params.X, run.X, values.X, steps.STEP.X');
    }
    throw new ExprError(`unexpected ${describe(t)}`, t.at, 'expected a value');
  }
}

/** Parses a bare expression (a `when:` condition). */
export function parseExpr(src: string): Ast {
  if (src.length > EXPR_LIMITS.maxLength) throw new ExprError(`expression too long (${src.length} characters, at most ${EXPR_LIMITS.maxLength})`, 0, 'split it with `values:`');
  return new Parser(tokenize(src, 0, false)).parseAll();
}

export type Template = { parts: ({ text: string } | { expr: Ast })[] };

/** Parses a template: text with `${expr}` parts; `$${` is a literal `${`. */
export function parseTemplate(src: string): Template {
  if (src.length > EXPR_LIMITS.maxLength * 4) throw new ExprError(`value too long (${src.length} characters)`, 0, 'shorten it');
  const parts: Template['parts'] = [];
  let text = '';
  let i = 0;
  while (i < src.length) {
    if (src.startsWith('$${', i)) {
      text += '${';
      i += 3;
    } else if (src.startsWith('${', i)) {
      if (text) parts.push({ text });
      text = '';
      const toks = tokenize(src, i + 2, true);
      const expr = new Parser(toks).parseAll('}');
      parts.push({ expr });
      i = toks[toks.length - 1]!.end;
    } else {
      text += src[i];
      i++;
    }
  }
  if (text || parts.length === 0) parts.push({ text });
  return { parts };
}

/** A canonical text of an expression: two conditions are the same when their texts are. */
export function show(e: Ast): string {
  switch (e.t) {
    case 'int':
      return String(e.v);
    case 'str':
      return JSON.stringify(e.v);
    case 'bool':
      return String(e.v);
    case 'null':
      return 'null';
    case 'list':
      return `[${e.items.map(show).join(', ')}]`;
    case 'ref':
      return `${e.root}.${e.path.join('.')}`;
    case 'neg':
      return `-(${show(e.e)})`;
    case 'not':
      return `!(${show(e.e)})`;
    case 'bin':
      return `(${show(e.l)} ${e.op} ${show(e.r)})`;
    case 'cond':
      return `(${show(e.c)} ? ${show(e.a)} : ${show(e.b)})`;
    case 'call':
      return `${e.fn}(${e.args.map(show).join(', ')})`;
  }
}
