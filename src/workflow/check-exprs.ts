/** flow check's expressions: YAML nodes → templates and conditions, their static types, and `checks:` entries (a workflow's or a param's) compiled. */
import type { ArgNode, CompiledCheck } from './definition.js';
import { conjuncts, fits, T, templateType, typeOf, tyName, type Ty, type TypeScope } from './typecheck.js';
import { ExprError, parseExpr, parseTemplate, show, type Ast } from './expr.js';
import type { ParamDef } from './params.js';
import { nodeAt, plain, type PNode } from './nodes.js';
import { Problems, exprPos } from './check-problems.js';

/** Builds an ArgNode from a YAML node: strings are templates. */
export function argNode(n: PNode, p: Problems): ArgNode | undefined {
  if (n.kind === 'map') {
    const entries: [string, ArgNode][] = [];
    for (const e of n.entries) {
      const a = argNode(e.value, p);
      if (a) entries.push([e.key, a]);
    }
    return { t: 'map', entries, node: n };
  }
  if (n.kind === 'seq') {
    const items = n.items.map((x) => argNode(x, p)).filter((x): x is ArgNode => x !== undefined);
    return { t: 'list', items, node: n };
  }
  if (typeof n.value === 'string') {
    try {
      return { t: 'tpl', tpl: parseTemplate(n.value), node: n };
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      p.add(exprPos(n, err.at), err.message, err.fix);
      return undefined;
    }
  }
  return { t: 'lit', v: n.value, node: n };
}

export function parseCondition(n: PNode, p: Problems): Ast | undefined {
  if (n.kind !== 'scalar' || typeof n.value !== 'string') {
    p.add(n.pos, `a condition is an expression, not ${JSON.stringify(plain(n))}`, 'e.g. when: params.mount (a constant condition is not needed: leave the step in or out)');
    return undefined;
  }
  try {
    const e = parseExpr(n.value);
    if (!hasRef(e)) {
      p.add(n.pos, `the condition ${JSON.stringify(n.value)} refers to nothing: it is always the same`, 'make it depend on a param (e.g. params.mount), or remove the condition');
      return undefined;
    }
    return e;
  } catch (err) {
    if (!(err instanceof ExprError)) throw err;
    p.add(exprPos(n, err.at), err.message, err.fix);
    return undefined;
  }
}

/** The parts of a condition joined by `&&`, as canonical texts. */
export function leaves(e: Ast): string[] {
  return e.t === 'bin' && e.op === '&&' ? [...leaves(e.l), ...leaves(e.r)] : [show(e)];
}

function hasRef(e: Ast): boolean {
  switch (e.t) {
    case 'ref':
      return true;
    case 'list':
      return e.items.some(hasRef);
    case 'neg':
    case 'not':
      return hasRef(e.e);
    case 'bin':
      return hasRef(e.l) || hasRef(e.r);
    case 'cond':
      return hasRef(e.c) || hasRef(e.a) || hasRef(e.b);
    case 'call':
      return e.args.some(hasRef);
    default:
      return false;
  }
}

/** The static type of an ArgNode, reporting expression errors. */
export function argType(a: ArgNode, scope: TypeScope, guards: ReadonlySet<string>, p: Problems): Ty | undefined {
  switch (a.t) {
    case 'lit':
      return a.v === null ? T.null : typeof a.v === 'number' ? T.int : typeof a.v === 'boolean' ? T.bool : T.string;
    case 'tpl':
      try {
        return templateType(a.tpl, scope, guards);
      } catch (err) {
        if (!(err instanceof ExprError)) throw err;
        p.add(exprPos(a.node, err.at), err.message, err.fix);
        return undefined;
      }
    case 'list': {
      let t: Ty = T.any;
      for (const x of a.items) {
        const u = argType(x, scope, guards, p);
        if (!u) return undefined;
        if (fits(u, t) || t.k === 'any') t = t.k === 'any' ? u : t;
        else {
          p.add(x.node.pos, 'list items of different types', 'a list holds values of one type');
          return undefined;
        }
      }
      return T.list(t);
    }
    case 'map': {
      const fields: Record<string, Ty> = {};
      for (const [k, v] of a.entries) {
        const t = argType(v, scope, guards, p);
        if (!t) return undefined;
        fields[k] = t;
      }
      return T.record(fields);
    }
  }
}


/** given.NAME: each option as typed (a switch: true or false), null when left out. */
export function givenTypesOf(def: { params?: Record<string, ParamDef> }): Map<string, Ty> {
  return new Map(Object.entries(def.params ?? {}).map(([n, pd]) => [n, T.opt(pd.type === 'boolean' ? T.bool : T.string)]));
}

/** A condition parsed and typed in `scope`: a boolean that depends on something (`example` for the fix), or undefined with the problem reported. */
export function typedCondition(n: PNode, scope: TypeScope, p: Problems, example: string): Ast | undefined {
  const when = parseCondition(n, p);
  if (!when) return undefined;
  try {
    const t = typeOf(when, scope);
    if (!fits(t, T.bool) || t.k === 'any') p.add(n.pos, `the condition is ${tyName(t)}, not a boolean`, `compare it, e.g. ${example}`);
  } catch (err) {
    if (!(err instanceof ExprError)) throw err;
    p.add(exprPos(n, err.at), err.message, err.fix);
  }
  return when;
}

/** The `count` refusals listed at `at` (a workflow's `checks:`, or a param's, then `param` names it): condition, message and hint typed in `scope`. */
export function compileChecks(root: PNode, at: readonly PropertyKey[], count: number, scope: TypeScope, p: Problems, param?: string): CompiledCheck[] {
  const out: CompiledCheck[] = [];
  for (let i = 0; i < count; i++) {
    const when = typedCondition(nodeAt(root, [...at, i, 'when'])!, scope, p, 'params.file.filesystem == null');
    const guards = new Set(when ? conjuncts(when) : []);
    const text = (key: 'message' | 'hint'): ArgNode | undefined => {
      const n = nodeAt(root, [...at, i, key]);
      if (!n) return undefined;
      const a = argNode(n, p);
      const t = a && argType(a, scope, guards, p);
      if (t && !fits(t, T.string) && !fits(t, T.int)) p.add(n.pos, `${param ? `param ${param}: ` : ''}check ${i + 1}: the ${key} is ${tyName(t)}`, `a ${key} is text`);
      return a;
    };
    const message = text('message');
    const hint = text('hint');
    if (when && message) out.push({ when, message, ...(hint ? { hint } : {}), ...(param ? { param } : {}) });
  }
  return out;
}
