/**
 * The static types of workflow expressions (src/workflow/expr.ts): what \`flow check\` gives
 * each expression and template, the facts (\`x != null\`) known where it stands, and which
 * type fits where another is expected. Their values: src/workflow/evaluate.ts.
 */
import { ExprError, show, type Ast, type Template } from './expr.js';

export type Ty =
  | { k: 'int' }
  | { k: 'bool' }
  | { k: 'string' }
  | { k: 'null' }
  | { k: 'any' }
  | { k: 'list'; of: Ty }
  | { k: 'record'; fields: Record<string, Ty> }
  | { k: 'opt'; of: Ty };

export const T = {
  int: { k: 'int' } as Ty,
  bool: { k: 'bool' } as Ty,
  string: { k: 'string' } as Ty,
  null: { k: 'null' } as Ty,
  any: { k: 'any' } as Ty,
  list: (of: Ty): Ty => ({ k: 'list', of }),
  record: (fields: Record<string, Ty>): Ty => ({ k: 'record', fields }),
  opt: (of: Ty): Ty => (of.k === 'opt' || of.k === 'null' || of.k === 'any' ? of : { k: 'opt', of }),
};

export function tyName(t: Ty): string {
  switch (t.k) {
    case 'list':
      return `list of ${tyName(t.of)}`;
    case 'record':
      return `record {${Object.keys(t.fields).join(', ')}}`;
    case 'opt':
      return `${tyName(t.of)} or null`;
    case 'int':
      return 'integer';
    case 'bool':
      return 'boolean';
    default:
      return t.k;
  }
}

function hasAny(t: Ty): boolean {
  return t.k === 'any' || ((t.k === 'list' || t.k === 'opt') && hasAny(t.of)) || (t.k === 'record' && Object.values(t.fields).some(hasAny));
}

/** T fits where U is expected. */
export function fits(t: Ty, u: Ty): boolean {
  if (t.k === 'any' || u.k === 'any') return true;
  if (u.k === 'opt') return t.k === 'null' || fits(t.k === 'opt' ? t.of : t, u.of);
  if (t.k === 'list' && u.k === 'list') return fits(t.of, u.of);
  // exactly the fields expected: an extra one would end up in the step's arguments
  if (t.k === 'record' && u.k === 'record') return Object.keys(t.fields).length === Object.keys(u.fields).length && Object.entries(u.fields).every(([k, v]) => t.fields[k] !== undefined && fits(t.fields[k]!, v));
  return t.k === u.k;
}

/** The common type of two branches (`c ? a : b`, list items), or undefined. */
function unify(a: Ty, b: Ty): Ty | undefined {
  if (fits(a, b) && fits(b, a)) return hasAny(a) ? b : a; // [] and ['sync']: list of string
  if (fits(a, b)) return b.k === 'any' ? a : b;
  if (fits(b, a)) return a;
  if (a.k === 'null') return T.opt(b);
  if (b.k === 'null') return T.opt(a);
  if (a.k === 'opt' && fits(b, a.of)) return a;
  if (b.k === 'opt' && fits(a, b.of)) return b;
  return undefined;
}

/** What an expression may refer to, with the facts known to hold where it stands. */
export interface TypeScope {
  /** the type of a reference; throws ExprError (at e.at) when it is unknown or not allowed here */
  ref(e: Ast & { t: 'ref' }, guards: ReadonlySet<string>): Ty;
}

/** The canonical texts of a condition and of each of its `&&` parts. */
export function conjuncts(e: Ast): string[] {
  if (e.t === 'bin' && e.op === '&&') return [show(e), ...conjuncts(e.l), ...conjuncts(e.r)];
  return [show(e)];
}

const negation = (e: Ast): Ast => ({ t: 'not', e, at: e.at, end: e.end });
const withFacts = (g: ReadonlySet<string>, e: Ast): Set<string> => {
  const s = new Set(g);
  for (const c of conjuncts(e)) s.add(c);
  // `x == null` false means x != null, and the other way round
  if (e.t === 'bin' && e.op === '==' && e.r.t === 'null') s.add(`!(${show(e)})`);
  return s;
};
const notNullFacts = (g: ReadonlySet<string>, e: Ast): Set<string> => {
  const s = withFacts(g, negation(e));
  if (e.t === 'bin' && e.op === '==' && e.r.t === 'null') s.add(show({ ...e, op: '!=' }));
  return s;
};

/** Is the reference known not to be null here (by an enclosing `x != null` or `x == null ? ... : here`)? */
export function knownNotNull(e: Ast, guards: ReadonlySet<string>): boolean {
  return guards.has(`(${show(e)} != null)`) || guards.has(`!((${show(e)} == null))`);
}

/** The static type of an expression; throws ExprError at the offending part. */
export function typeOf(e: Ast, scope: TypeScope, guards: ReadonlySet<string> = new Set()): Ty {
  const need = (x: Ast, want: Ty, what: string, g = guards): Ty => {
    const t = typeOf(x, scope, g);
    if (t.k === 'opt' && want.k !== 'opt' && fits(t.of, want)) {
      throw new ExprError(`${what}: ${show(x)} may be null`, x.at, `test it first: \`${show(x)} == null ? ... : ...\``);
    }
    if (!fits(t, want)) throw new ExprError(`${what}: expected ${tyName(want)}, ${show(x)} is ${tyName(t)}`, x.at, typeFix(want));
    return t;
  };
  switch (e.t) {
    case 'int':
      return T.int;
    case 'str':
      return T.string;
    case 'bool':
      return T.bool;
    case 'null':
      return T.null;
    case 'list': {
      let t: Ty = T.any;
      for (const x of e.items) {
        const u = unify(t, typeOf(x, scope, guards));
        if (!u) throw new ExprError('list items of different types', x.at, 'a list holds values of one type');
        t = u;
      }
      return T.list(t);
    }
    case 'ref': {
      const t = scope.ref(e, guards);
      return t.k === 'opt' && knownNotNull(e, guards) ? t.of : t;
    }
    case 'neg':
      need(e.e, T.int, 'unary -');
      return T.int;
    case 'not':
      need(e.e, T.bool, '!');
      return T.bool;
    case 'cond': {
      need(e.c, T.bool, 'the condition of `? :`');
      const a = typeOf(e.a, scope, withFacts(guards, e.c));
      const b = typeOf(e.b, scope, notNullFacts(guards, e.c));
      const u = unify(a, b);
      if (!u) throw new ExprError(`the two sides of \`? :\` differ: ${tyName(a)} and ${tyName(b)}`, e.a.at, 'give both sides the same type');
      return u;
    }
    case 'call': {
      if (e.fn === 'size') {
        if (e.args.length !== 1) throw new ExprError('size() takes one value', e.at, 'e.g. size(params.size)');
        need(e.args[0]!, T.int, 'size()');
        return T.string;
      }
      if (e.fn === 'str') {
        if (e.args.length !== 1) throw new ExprError('str() takes one value', e.at, 'e.g. str(params.partition)');
        const t = typeOf(e.args[0]!, scope, guards);
        if (!fits(t, T.int) && !fits(t, T.string)) throw new ExprError(`str() of ${tyName(t)}`, e.args[0]!.at, 'str() turns an integer into a string');
        return T.string;
      }
      for (const a of e.args) need(a, T.int, `${e.fn}()`);
      return T.int;
    }
    case 'bin': {
      switch (e.op) {
        case '&&':
          need(e.l, T.bool, '&&');
          need(e.r, T.bool, '&&', withFacts(guards, e.l));
          return T.bool;
        case '||':
          need(e.l, T.bool, '||');
          need(e.r, T.bool, '||', notNullFacts(guards, e.l));
          return T.bool;
        case '+': {
          const l = typeOf(e.l, scope, guards);
          if (fits(l, T.string) && l.k !== 'any') {
            need(e.r, T.string, '+ of strings');
            return T.string;
          }
          need(e.l, T.int, '+');
          need(e.r, T.int, '+');
          return T.int;
        }
        case '-':
        case '*':
        case '/':
        case '%':
        case '<':
        case '<=':
        case '>':
        case '>=':
          need(e.l, T.int, e.op);
          need(e.r, T.int, e.op);
          return ['-', '*', '/', '%'].includes(e.op) ? T.int : T.bool;
        case '==':
        case '!=': {
          const l = typeOf(e.l, scope, guards);
          const r = typeOf(e.r, scope, guards);
          if (!unify(l, r)) throw new ExprError(`${e.op} compares ${tyName(l)} with ${tyName(r)}: never equal`, e.r.at, 'compare values of the same type');
          return T.bool;
        }
        case 'in': {
          const r = typeOf(e.r, scope, guards);
          if (r.k !== 'list' && r.k !== 'any') throw new ExprError(`in needs a list on its right, ${show(e.r)} is ${tyName(r)}`, e.r.at, "e.g. x in ['a', 'b']");
          const l = typeOf(e.l, scope, guards);
          if (r.k === 'list' && !unify(l, r.of)) throw new ExprError(`in: ${tyName(l)} is never in a ${tyName(r)}`, e.l.at, 'compare values of the same type');
          return T.bool;
        }
      }
    }
  }
}

function typeFix(want: Ty): string {
  if (want.k === 'int') return 'use an integer (a size param is in bytes; str() is the other way)';
  if (want.k === 'string') return 'use a string (str(n) turns an integer into one)';
  if (want.k === 'bool') return 'use a condition, e.g. params.x == 0 or a boolean param';
  return `use a ${tyName(want)}`;
}

/** The static type of a template: its one expression's, or string. */
export function templateType(tpl: Template, scope: TypeScope, guards: ReadonlySet<string> = new Set()): Ty {
  const only = tpl.parts.length === 1 ? tpl.parts[0]! : undefined;
  if (only && 'expr' in only) return typeOf(only.expr, scope, guards);
  for (const p of tpl.parts) {
    if (!('expr' in p)) continue;
    const t = typeOf(p.expr, scope, guards);
    if (t.k === 'opt' && (fits(t.of, T.int) || fits(t.of, T.string))) throw new ExprError(`${show(p.expr)} may be null inside a text`, p.expr.at, `test it first: \`${show(p.expr)} == null ? ... : ...\``);
    if (!fits(t, T.int) && !fits(t, T.string)) throw new ExprError(`${show(p.expr)} is ${tyName(t)}: only strings and integers go into a text`, p.expr.at, 'make the whole value `${...}`, or use a string or integer');
  }
  return T.string;
}
