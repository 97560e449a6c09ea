/**
 * The evaluator of workflow expressions (src/workflow/expr.ts); their static types: src/workflow/typecheck.ts.
 *
 * Integers are exact: every value and every intermediate result must be a safe integer
 * (|n| <= 2^53 - 1), else the evaluation fails ("integer overflow"). `/` is floor
 * division (rounds toward negative infinity: 7 / 2 = 3, -7 / 2 = -4) and `%` the matching
 * remainder (a % b has the sign of b, a == (a / b) * b + a % b); dividing by 0 fails.
 * `+` adds integers or joins two strings (never a string and an integer: use str()).
 * `&&`, `||` and `? :` evaluate only the side they need.
 */
import { ExprError, type Ast, type RefRoot, type Template } from './expr.js';
import { formatSize } from '../preflight/values.js';

export type Value = number | boolean | string | null | Value[] | { [k: string]: Value };

/** Where evaluation gets referenced values. */
export interface EvalScope {
  ref(root: RefRoot, path: readonly string[], at: number): Value;
}

export const MAX_STRING = 64 * 1024;

const isInt = (v: Value): v is number => typeof v === 'number';
function int(v: Value, at: number, what: string): number {
  if (!isInt(v)) throw new ExprError(`${what} needs an integer, got ${JSON.stringify(v)}`, at, 'check the types');
  return v;
}
function safe(n: number, at: number): number {
  if (!Number.isSafeInteger(n)) throw new ExprError('integer overflow (beyond 2^53 - 1)', at, 'the values are too large for exact integer arithmetic');
  return n;
}
function bool(v: Value, at: number, what: string): boolean {
  if (typeof v !== 'boolean') throw new ExprError(`${what} needs true or false, got ${JSON.stringify(v)}`, at, 'check the types');
  return v;
}

export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && equal(a[k]!, b[k]!));
  }
  return false;
}

/** Evaluates an expression: pure, bounded by the expression's size (no loops, no calls out). */
export function evaluate(e: Ast, scope: EvalScope): Value {
  switch (e.t) {
    case 'int':
    case 'str':
    case 'bool':
      return e.v;
    case 'null':
      return null;
    case 'list':
      return e.items.map((x) => evaluate(x, scope));
    case 'ref':
      return scope.ref(e.root, e.path, e.at);
    case 'neg':
      return safe(-int(evaluate(e.e, scope), e.e.at, 'unary -'), e.at) || 0;
    case 'not':
      return !bool(evaluate(e.e, scope), e.e.at, '!');
    case 'cond':
      return bool(evaluate(e.c, scope), e.c.at, '? :') ? evaluate(e.a, scope) : evaluate(e.b, scope);
    case 'call': {
      const args = e.args.map((a) => evaluate(a, scope));
      if (e.fn === 'size') return formatSize(int(args[0]!, e.args[0]!.at, 'size()'));
      if (e.fn === 'str') {
        const v = args[0]!;
        if (typeof v === 'string') return v;
        return String(int(v, e.args[0]!.at, 'str()'));
      }
      const ns = args.map((v, i) => int(v, e.args[i]!.at, `${e.fn}()`));
      return e.fn === 'min' ? Math.min(...ns) : Math.max(...ns);
    }
    case 'bin': {
      if (e.op === '&&') return bool(evaluate(e.l, scope), e.l.at, '&&') && bool(evaluate(e.r, scope), e.r.at, '&&');
      if (e.op === '||') return bool(evaluate(e.l, scope), e.l.at, '||') || bool(evaluate(e.r, scope), e.r.at, '||');
      const l = evaluate(e.l, scope);
      const r = evaluate(e.r, scope);
      switch (e.op) {
        case '==':
          return equal(l, r);
        case '!=':
          return !equal(l, r);
        case 'in':
          if (!Array.isArray(r)) throw new ExprError('in needs a list', e.r.at, "e.g. x in ['a', 'b']");
          return r.some((x) => equal(l, x));
        case '+':
          if (typeof l === 'string' && typeof r === 'string') {
            if (l.length + r.length > MAX_STRING) throw new ExprError(`string longer than ${MAX_STRING} characters`, e.at, 'shorten it');
            return l + r;
          }
          return safe(int(l, e.l.at, '+') + int(r, e.r.at, '+'), e.at);
      }
      const a = int(l, e.l.at, e.op);
      const b = int(r, e.r.at, e.op);
      switch (e.op) {
        case '-':
          return safe(a - b, e.at) || 0;
        case '*':
          return safe(a * b, e.at) || 0;
        case '/':
          if (b === 0) throw new ExprError('division by zero', e.r.at, 'make sure the divisor is never 0');
          return safe(Math.floor(a / b), e.at) || 0;
        case '%':
          if (b === 0) throw new ExprError('division by zero (%)', e.r.at, 'make sure the divisor is never 0');
          return (((a % b) + b) % b) || 0;
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        case '>=':
          return a >= b;
      }
    }
  }
  throw new Error('unreachable');
}

/** Evaluates a template: its one expression's value, or the joined text. */
export function evaluateTemplate(tpl: Template, scope: EvalScope): Value {
  const only = tpl.parts.length === 1 ? tpl.parts[0]! : undefined;
  if (only && 'expr' in only) return evaluate(only.expr, scope);
  let s = '';
  for (const p of tpl.parts) {
    if ('text' in p) s += p.text;
    else {
      const v = evaluate(p.expr, scope);
      if (typeof v !== 'string' && typeof v !== 'number') throw new ExprError(`${JSON.stringify(v)} cannot go into a text`, p.expr.at, 'use a string or integer');
      s += String(v);
    }
    if (s.length > MAX_STRING) throw new ExprError(`text longer than ${MAX_STRING} characters`, 0, 'shorten it');
  }
  return s;
}
