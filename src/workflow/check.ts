/**
 * `flow check`'s core: a parsed YAML tree → the compiled workflow, or every problem found,
 * each at file:line:column with what is wrong and the fix. Checks the schema (zod), then
 * what can be known before params: unknown kinds, arguments and fields, duplicate names,
 * unknown or forward references, references to a step that may be skipped, conditions
 * that refer to nothing, and the type of every expression.
 */
import type { ZodError } from 'zod';
import { UsageError } from '../errors.js';
import { formatSize, parseInteger, parseSize } from '../preflight/values.js';
import { TARGETS, fieldType } from './dm-table.js';
import { definitionSchema, type ArgNode, type CompiledCheck, type CompiledStep, type Segment, type Workflow } from './definition.js';
import { conjuncts, fits, T, templateType, typeOf, tyName, type Ty, type TypeScope, type Value } from './evaluate.js';
import { ExprError, parseExpr, parseTemplate, show, type Ast } from './expr.js';
import { KINDS, KIND_NAMES } from './kinds.js';
import { paramType, PARAM_TYPES, type ParamDef } from './params.js';
import { nodeAt, plain, posAt, type Diagnostic, type PNode, type Pos } from './nodes.js';

export const RUN_FACTS: Record<string, Ty> = { id: T.string, dir: T.string, uuid: T.string };
/** Facts of the machine preflight runs on, known only to checks (not recorded with the run): host.memory, its RAM in bytes. */
export const HOST_FACTS: Record<string, Ty> = { memory: T.int };
const RUN_FACT_DOC = 'run.id (the run id), run.dir (where default mount points go, /run/flow), run.uuid (a fresh UUID recorded with the run)';

class Problems {
  readonly list: Diagnostic[] = [];
  add(pos: Pos, message: string, fix: string): void {
    this.list.push({ pos, message, fix });
  }
}

/** The position of offset `at` inside a scalar node's text (quoted: one more for the quote). */
function exprPos(node: PNode, at: number): Pos {
  if (node.kind !== 'scalar' || typeof node.value !== 'string' || node.value.slice(0, at).includes('\n')) return node.pos;
  return { line: node.pos.line, col: node.pos.col + (node.quoted ? 1 : 0) + at };
}

function keyPos(root: PNode, path: readonly PropertyKey[], key: string): Pos {
  const n = nodeAt(root, path);
  if (n?.kind === 'map') return n.entries.find((e) => e.key === key)?.keyPos ?? n.pos;
  return posAt(root, path);
}

function zodProblems(err: ZodError, root: PNode, p: Problems): void {
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
function subtraction(name: string, known: (n: string) => boolean): [string, string] | undefined {
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
    return `a param of type ${String(t)} has: type, description, required, default, default-text, value-name and its type's own fields (docs/WORKFLOWS.md)`;
  }
  return 'remove it (check its spelling)';
}

/** Builds an ArgNode from a YAML node: strings are templates. */
function argNode(n: PNode, p: Problems): ArgNode | undefined {
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

function parseCondition(n: PNode, p: Problems): Ast | undefined {
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
function leaves(e: Ast): string[] {
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
function argType(a: ArgNode, scope: TypeScope, guards: ReadonlySet<string>, p: Problems): Ty | undefined {
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

interface StepInfo {
  index: number;
  kind: CompiledStep['kind'];
  when?: Ast;
  whenText?: string;
}

interface ScopeOpts {
  params: Map<string, Ty>;
  values: Map<string, Ty>;
  /** steps that may be referred to (earlier ones), or why none may be */
  steps: { known: Map<string, StepInfo>; index: number; all: Map<string, StepInfo>; checkSkips: boolean } | { forbidden: string };
  paramNames: string[];
  laterValues?: Set<string>;
  laterParams?: Set<string>;
  /** why values cannot be used here (a param's checks: values come once every param is known) */
  noValues?: string;
  /** checks only: the options as given (given.NAME) */
  given?: Map<string, Ty>;
  /** checks only: facts of the machine (host.NAME) */
  host?: boolean;
}

function makeScope(o: ScopeOpts): TypeScope {
  return {
    ref(e, guards) {
      const [head, ...rest] = e.path;
      const fail = (msg: string, fix: string): never => {
        throw new ExprError(msg, e.at, fix);
      };
      let t: Ty;
      let fieldsFrom = 1;
      if (e.root === 'params') {
        const pt = o.params.get(head!);
        if (!pt) {
          if (o.laterParams?.has(head!)) fail(`params.${head} is declared after this param`, 'a param\'s default and checks may only use params declared before it: move this param down');
          const sub = subtraction(head!, (n) => o.params.has(n));
          if (sub) fail(`unknown param ${JSON.stringify(head)}`, `to subtract, write spaces around -: params.${sub[0]} - ${sub[1]}`);
          fail(`unknown param ${JSON.stringify(head)}`, o.paramNames.length ? `params are: ${o.paramNames.join(', ')}` : 'declare it under params:');
        }
        t = pt!;
      } else if (e.root === 'run') {
        const rt = RUN_FACTS[head!];
        if (!rt) fail(`unknown run fact ${JSON.stringify(head)}`, `run facts are ${RUN_FACT_DOC}`);
        t = rt!;
      } else if (e.root === 'given') {
        if (!o.given) fail(`given.${head} is known only to checks:`, 'elsewhere use params.NAME (the option, or its default)');
        const gt = o.given!.get(head!);
        if (!gt) fail(`unknown param ${JSON.stringify(head)}`, o.paramNames.length ? `params are: ${o.paramNames.join(', ')}` : 'declare it under params:');
        t = gt!;
      } else if (e.root === 'host') {
        if (!o.host) fail(`host.${head} is known only to checks:`, 'a fact of the machine refuses a run; it is not recorded with it');
        const ht = HOST_FACTS[head!];
        if (!ht) fail(`unknown host fact ${JSON.stringify(head)}`, `host facts are ${Object.keys(HOST_FACTS).join(', ')}`);
        t = ht!;
      } else if (e.root === 'values') {
        if (o.noValues) fail(`${o.noValues} cannot use values`, 'values are known once every param is: move this check to the workflow\'s checks:');
        const vt = o.values.get(head!);
        if (!vt) {
          if (o.laterValues?.has(head!)) fail(`values.${head} is defined after this value`, 'a value may only use values defined before it: reorder values:');
          const sub = subtraction(head!, (n) => o.values.has(n));
          if (sub) fail(`unknown value ${JSON.stringify(head)}`, `to subtract, write spaces around -: values.${sub[0]} - ${sub[1]}`);
          fail(`unknown value ${JSON.stringify(head)}`, o.values.size ? `values are: ${[...o.values.keys()].join(', ')}` : 'define it under values:');
        }
        t = vt!;
      } else {
        const s = o.steps;
        if ('forbidden' in s) fail(`${s.forbidden} cannot use outputs of steps`, 'use params, values and run facts here: step outputs exist only once the run gets there');
        const so = s as Exclude<ScopeOpts['steps'], { forbidden: string }>;
        const info = so.known.get(head!);
        if (!info) {
          const later = so.all.get(head!);
          if (later && later.index >= so.index) fail(later.index === so.index ? `step ${head} refers to its own outputs` : `steps.${head} is a later step (a forward reference)`, 'a step can only use outputs of steps before it: reorder the steps');
          fail(`unknown step ${JSON.stringify(head)}`, `steps before this one: ${[...so.known.keys()].join(', ') || '(none)'}`);
        }
        if (rest.length === 0) fail(`steps.${head} alone is not a value`, `name an output: ${Object.keys(KINDS[info!.kind].outputs).join(', ') || '(it has none)'}`);
        const out = KINDS[info!.kind].outputs[rest[0]!];
        if (!out) fail(`step ${head} (${info!.kind}) has no output ${JSON.stringify(rest[0])}`, `its outputs: ${Object.keys(KINDS[info!.kind].outputs).join(', ') || '(none)'}`);
        if (so.checkSkips && info!.when) {
          // guarded: the same condition, or each of its `&&` parts, holds where the reference stands
          if (!guards.has(show(info!.when)) && !leaves(info!.when).every((c) => guards.has(c))) {
            fail(`step ${head} may be skipped (when: ${info!.whenText}), so steps.${head}.${rest[0]} may not exist`, `give this step the same condition, or guard the reference: \`${info!.whenText} ? steps.${head}.${rest[0]} : ...\``);
          }
        }
        t = out!;
        fieldsFrom = 2;
      }
      for (const [j, f] of e.path.slice(fieldsFrom).entries()) {
        const prefix = `${e.root}.${e.path.slice(0, fieldsFrom + j).join('.')}`;
        // `x == null ? ... : x.f` and `x != null && x.f`: x is known not to be null there
        if (t.k === 'opt' && (guards.has(`(${prefix} != null)`) || guards.has(`!((${prefix} == null))`))) t = t.of;
        if (t.k === 'opt' && t.of.k === 'record') fail(`${e.root}.${e.path.slice(0, e.path.indexOf(f)).join('.')} may be null`, 'test it first: `X == null ? ... : ...`');
        if (t.k !== 'record') fail(`${e.root}.${e.path.join('.')}: ${tyName(t)} has no field ${JSON.stringify(f)}`, 'remove the field');
        const ft = (t as { fields: Record<string, Ty> }).fields[f];
        const sub = ft ? undefined : subtraction(f, (n) => Object.hasOwn((t as { fields: Record<string, Ty> }).fields, n));
        if (sub) fail(`${prefix} has no field ${JSON.stringify(f)}`, `to subtract, write spaces around -: ${prefix}.${sub[0]} - ${sub[1]}`);
        if (!ft) fail(`${e.root}.${e.path.slice(0, e.path.indexOf(f)).join('.')} has no field ${JSON.stringify(f)}`, `its fields: ${Object.keys((t as { fields: Record<string, Ty> }).fields).join(', ')}`);
        t = ft!;
      }
      return t;
    },
  };
}

/** Checks a literal default against its param's type (the same parsers as the CLI's options). */
function checkLiteralDefault(name: string, p: ParamDef, d: string | number | boolean): string | undefined {
  const opt = `--${name}`;
  try {
    switch (p.type) {
      case 'boolean':
        return typeof d === 'boolean' ? undefined : 'a boolean param has default true or false';
      case 'size':
        parseSize(opt, String(d), { multipleOf: p['multiple-of'], min: p.min, why: p.why });
        if (p.max !== undefined && parseSize(opt, String(d)) > p.max) return `${d} is larger than max ${formatSize(p.max)}`;
        return undefined;
      case 'integer': {
        const n = parseInteger(opt, String(d), p.min ?? Number.MIN_SAFE_INTEGER, p.max ?? Number.MAX_SAFE_INTEGER);
        if (p['power-of-two'] && (n <= 0 || (n & (n - 1)) !== 0)) return `${n} is not a power of two`;
        return undefined;
      }
      case 'one-of':
        return p.choices.includes(String(d)) ? undefined : `${JSON.stringify(d)} is not one of ${p.choices.join(', ')}`;
      case 'string':
        if (p.pattern && !new RegExp(`^(?:${p.pattern})$`, 'u').test(String(d))) return `${JSON.stringify(d)} does not match the pattern`;
        return typeof d === 'string' ? undefined : 'a string param has a string default';
      case 'partition':
        return 'a partition has no default: without --NAME flow picks the largest Linux partition';
      default:
        return typeof d === 'string' ? undefined : 'give a path';
    }
  } catch (err) {
    if (err instanceof UsageError) return err.message;
    throw err;
  }
}

/** What a default written as a template must evaluate to. */
function defaultType(p: ParamDef): Ty {
  return p.type === 'size' || p.type === 'integer' ? T.int : p.type === 'boolean' ? T.bool : T.string;
}

/** given.NAME: each option as typed (a switch: true or false), null when left out. */
function givenTypesOf(def: { params?: Record<string, ParamDef> }): Map<string, Ty> {
  return new Map(Object.entries(def.params ?? {}).map(([n, pd]) => [n, T.opt(pd.type === 'boolean' ? T.bool : T.string)]));
}

/** The `count` refusals listed at `at` (a workflow's `checks:`, or a param's, then `param` names it): condition, message and hint typed in `scope`. */
function compileChecks(root: PNode, at: readonly PropertyKey[], count: number, scope: TypeScope, p: Problems, param?: string): CompiledCheck[] {
  const out: CompiledCheck[] = [];
  for (let i = 0; i < count; i++) {
    const wn = nodeAt(root, [...at, i, 'when'])!;
    const when = parseCondition(wn, p);
    if (when) {
      try {
        const t = typeOf(when, scope);
        if (!fits(t, T.bool) || t.k === 'any') p.add(wn.pos, `the condition is ${tyName(t)}, not a boolean`, 'compare it, e.g. params.file.filesystem == null');
      } catch (err) {
        if (!(err instanceof ExprError)) throw err;
        p.add(exprPos(wn, err.at), err.message, err.fix);
      }
    }
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

/** A pattern that backtracks badly: a quantified group that itself holds a quantifier. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;

/** Checks a parsed YAML tree; the compiled workflow, or the problems (never both). */
export function checkTree(root: PNode, source: string): { workflow?: Workflow; problems: Diagnostic[] } {
  const p = new Problems();
  const parsed = definitionSchema.safeParse(plain(root));
  if (!parsed.success) {
    zodProblems(parsed.error, root, p);
    return { problems: p.list };
  }
  const def = parsed.data;

  // params, with their own checks
  const checks: CompiledCheck[] = [];
  const paramTypes = new Map<string, Ty>();
  const paramNames = Object.keys(def.params ?? {});
  const params: Workflow['params'] = [];
  for (const [i, [name, pd]] of Object.entries(def.params ?? {}).entries()) {
    const at = (k?: string) => (k ? posAt(root, ['params', name, k]) : keyPos(root, ['params'], name));
    if (pd.required && pd.default !== undefined) p.add(at('default'), `param ${name} is required and has a default`, 'remove one of them');
    if (pd.type === 'boolean' && pd.required) p.add(at('required'), `param ${name}: a boolean (a switch) is never required`, 'give it default: false (the switch --NAME) or true (the switch --no-NAME)');
    if (!pd.required && pd.default === undefined && pd.type !== 'boolean' && pd.type !== 'partition') {
      p.add(at(), `param ${name} has neither \`required: true\` nor a default`, 'add one of them');
    }
    if ((pd.type === 'size' || pd.type === 'integer') && pd.min !== undefined && pd.max !== undefined && pd.min > pd.max) p.add(at('min'), `param ${name}: min is larger than max`, 'swap them');
    if (pd.type === 'string' && pd.pattern !== undefined) {
      try {
        new RegExp(pd.pattern, 'u');
        if (NESTED_QUANTIFIER.test(pd.pattern)) p.add(at('pattern'), `param ${name}: the pattern has a quantified group holding a quantifier (it can take exponential time)`, 'write it without nesting quantifiers, e.g. [a-z0-9-]+ instead of ([a-z0-9]+-?)+');
      } catch (err) {
        p.add(at('pattern'), `param ${name}: the pattern is not a regular expression: ${(err as Error).message}`, 'fix the pattern (JavaScript syntax, matched against the whole value)');
      }
    }
    if (pd.type === 'partition') {
      const of = def.params?.[pd.of];
      if (!of || of.type !== 'existing-file' || paramNames.indexOf(pd.of) > i) p.add(at('of'), `param ${name}: \`of: ${pd.of}\` is not an existing-file param declared before it`, 'name the image param, e.g. of: image');
      if (pd.fstab) {
        const before = (n: string) => paramNames.indexOf(n) >= 0 && paramNames.indexOf(n) < i;
        const inp = def.params?.[pd.fstab.in];
        if (!inp || inp.type !== 'partition' || inp.of !== pd.of || !before(pd.fstab.in)) {
          p.add(posAt(root, ['params', name, 'fstab', 'in']), `param ${name}: \`fstab: in: ${pd.fstab.in}\` is not a partition param of ${pd.of} declared before it`, 'name the partition whose filesystem holds /etc/fstab, e.g. in: root-partition');
        }
        const atp = def.params?.[pd.fstab.at];
        if (!atp || atp.type !== 'string' || atp.format !== 'path-in-image' || atp.default !== '' || !before(pd.fstab.at)) {
          p.add(posAt(root, ['params', name, 'fstab', 'at']), `param ${name}: \`fstab: at: ${pd.fstab.at}\` is not a string param declared before it with format: path-in-image and default: ''`, 'declare the place param first, e.g. boot-at: {type: string, format: path-in-image, default: \'\'}');
        }
      }
    }
    let dnode: ArgNode | undefined;
    if (pd.default !== undefined) {
      const isTpl = typeof pd.default === 'string' && pd.default.includes('${');
      const node = nodeAt(root, ['params', name, 'default'])!;
      if (isTpl) {
        dnode = argNode(node, p);
        const scope = makeScope({ params: paramTypes, values: new Map(), steps: { forbidden: 'a default' }, paramNames, laterParams: new Set(paramNames.slice(i)) });
        const t = dnode && argType(dnode, scope, new Set(), p);
        if (t && !fits(t, defaultType(pd))) p.add(node.pos, `param ${name}: the default is ${tyName(t)}, not ${tyName(defaultType(pd))}`, 'make the default fit the param type');
      } else {
        const bad = checkLiteralDefault(name, pd, pd.default);
        if (bad) p.add(node.pos, `param ${name}: bad default: ${bad}`, 'give a default the option itself would accept');
        dnode = { t: 'lit', v: pd.default, node };
      }
    }
    paramTypes.set(name, paramType(pd));
    params.push([name, pd, dnode]);
    if (pd.checks) {
      // as soon as this param is known: it and the params before it, the options as given, the machine
      const scope = makeScope({ params: paramTypes, values: new Map(), noValues: `param ${name}'s checks`, steps: { forbidden: 'a check' }, paramNames, laterParams: new Set(paramNames.slice(i + 1)), given: givenTypesOf(def), host: true });
      checks.push(...compileChecks(root, ['params', name, 'checks'], pd.checks.length, scope, p, name));
    }
  }

  // values
  const valueTypes = new Map<string, Ty>();
  const values: Workflow['values'] = [];
  const valueNames = Object.keys(def.values ?? {});
  for (const [i, name] of valueNames.entries()) {
    const a = argNode(nodeAt(root, ['values', name])!, p);
    if (!a) continue;
    const scope = makeScope({ params: paramTypes, values: valueTypes, steps: { forbidden: 'a value' }, paramNames, laterValues: new Set(valueNames.slice(i)) });
    const t = argType(a, scope, new Set(), p);
    if (t) valueTypes.set(name, t);
    values.push([name, a]);
  }

  // checks: conditions over params and values, message and hint templates (after the params' own)
  const checkScope = makeScope({ params: paramTypes, values: valueTypes, steps: { forbidden: 'a check' }, paramNames, given: givenTypesOf(def), host: true });
  checks.push(...compileChecks(root, ['checks'], def.checks?.length ?? 0, checkScope, p));

  // steps
  const all = new Map<string, StepInfo>();
  for (const [i, s] of def.steps.entries()) {
    if (all.has(s.name)) p.add(posAt(root, ['steps', i, 'name']), `step name ${s.name} is used twice`, 'give each step its own name');
    else all.set(s.name, { index: i, kind: s.kind });
  }
  const known = new Map<string, StepInfo>();
  const steps: CompiledStep[] = [];
  for (const [i, s] of def.steps.entries()) {
    const path = ['steps', i];
    const spec = KINDS[s.kind];
    let when: Ast | undefined;
    let whenText: string | undefined;
    if (s.when !== undefined) {
      const wn = nodeAt(root, [...path, 'when'])!;
      when = parseCondition(wn, p);
      whenText = String(s.when);
      if (when) {
        const scope = makeScope({ params: paramTypes, values: valueTypes, steps: { forbidden: 'a condition' }, paramNames });
        try {
          const t = typeOf(when, scope);
          if (!fits(t, T.bool) || t.k === 'any') p.add(wn.pos, `the condition is ${tyName(t)}, not a boolean`, 'compare it, e.g. params.x > 0');
        } catch (err) {
          if (!(err instanceof ExprError)) throw err;
          p.add(exprPos(wn, err.at), err.message, err.fix);
        }
      }
    }
    const info: StepInfo = { index: i, kind: s.kind, when, whenText };
    const guards = new Set(when ? conjuncts(when) : []);
    const stepScope = makeScope({ params: paramTypes, values: valueTypes, steps: { known, index: i, all, checkSkips: true }, paramNames });
    const titleNode = nodeAt(root, [...path, 'title'])!;
    const title = argNode(titleNode, p);
    if (title) {
      const tt = argType(title, makeScope({ params: paramTypes, values: valueTypes, steps: { forbidden: 'a title' }, paramNames }), guards, p);
      if (tt && !fits(tt, T.string) && !fits(tt, T.int)) p.add(titleNode.pos, `the title is ${tyName(tt)}`, 'a title is text');
    }
    const args: [string, ArgNode][] = [];
    let table: Segment[] | undefined;
    const given = new Set(Object.keys(s.with ?? {}));
    for (const [argName, argSpec] of Object.entries(spec.args)) {
      if (!given.has(argName) && !argSpec.optional) p.add(posAt(root, [...path, 'kind']), `step ${s.name} (${s.kind}) needs the argument ${argName}`, `add it under with: (${argName}: ${tyName(argSpec.ty)})`);
    }
    for (const [argName] of Object.entries(s.with ?? {})) {
      const node = nodeAt(root, [...path, 'with', argName])!;
      const argSpec = spec.args[argName];
      if (!argSpec) {
        const why = spec.added?.includes(argName) ? `${s.kind} sets ${argName} itself (the run's ownership marker)` : `${s.kind} has no argument ${JSON.stringify(argName)}`;
        p.add(keyPos(root, [...path, 'with'], argName), `step ${s.name}: ${why}`, `its arguments: ${Object.keys(spec.args).join(', ')}`);
        continue;
      }
      if (s.kind === 'dm.create' && argName === 'table') {
        table = checkTable(node, stepScope, guards, p);
        continue;
      }
      const a = argNode(node, p);
      if (!a) continue;
      const t = argType(a, stepScope, guards, p);
      if (t && !fits(t, argSpec.ty)) p.add(node.pos, `step ${s.name}: ${argName} is ${tyName(t)}, ${s.kind} needs ${tyName(argSpec.ty)}`, 'give it a value of that type');
      args.push([argName, a]);
    }
    steps.push({ name: s.name, kind: s.kind, durable: spec.durable, title: title!, when, whenText, args, table });
    if (!known.has(s.name)) known.set(s.name, info);
    all.set(s.name, { ...info, index: all.get(s.name)?.index ?? i });
  }

  // outputs: any step; one that did not run leaves its output out
  const outputs: Workflow['outputs'] = [];
  const outScope = makeScope({ params: paramTypes, values: valueTypes, steps: { known, index: def.steps.length, all, checkSkips: false }, paramNames });
  for (const name of Object.keys(def.outputs ?? {})) {
    const node = nodeAt(root, ['outputs', name])!;
    const a = argNode(node, p);
    if (!a) continue;
    const t = argType(a, outScope, new Set(), p);
    if (t && !fits(t, T.string) && !fits(t, T.int)) p.add(node.pos, `output ${name} is ${tyName(t)}`, 'an output is a string or an integer');
    outputs.push([name, a]);
  }
  if (p.list.length) return { problems: p.list };
  return {
    problems: [],
    workflow: { name: def.name, version: def.version ?? 1, description: def.description, examples: def.examples ?? [], params, values, checks, steps, outputs, source },
  };
}

function checkTable(node: PNode, scope: TypeScope, guards: ReadonlySet<string>, p: Problems): Segment[] | undefined {
  if (node.kind !== 'seq' || node.items.length === 0) {
    p.add(node.pos, 'a table is a list of segments', 'e.g. table: [{target: linear, sectors: ..., device: ..., offset: 0}]');
    return undefined;
  }
  const segs: Segment[] = [];
  for (const [i, sn] of node.items.entries()) {
    if (sn.kind !== 'map') {
      p.add(sn.pos, `segment ${i + 1} is not a map`, 'write target:, sectors: and the target’s fields — never a table line');
      continue;
    }
    const get = (k: string) => sn.entries.find((e) => e.key === k);
    const target = get('target')?.value;
    if (!target || target.kind !== 'scalar' || typeof target.value !== 'string' || !Object.hasOwn(TARGETS, target.value)) {
      p.add(target?.pos ?? sn.pos, `segment ${i + 1}: ${target ? `unknown target ${JSON.stringify(plain(target))}` : 'no target'}`, `targets: ${Object.keys(TARGETS).join(', ')}`);
      continue;
    }
    const spec = TARGETS[target.value]!;
    let when: Ast | undefined;
    const wn = get('when')?.value;
    if (wn) when = parseCondition(wn, p);
    const segGuards = new Set(guards);
    if (when) {
      try {
        const t = typeOf(when, scope, guards);
        if (!fits(t, T.bool) || t.k === 'any') p.add(wn!.pos, `the condition is ${tyName(t)}, not a boolean`, 'compare it, e.g. values.total > 0');
        for (const c of conjuncts(when)) segGuards.add(c);
      } catch (err) {
        if (!(err instanceof ExprError)) throw err;
        p.add(exprPos(wn!, err.at), err.message, err.fix);
      }
    }
    const sectorsNode = get('sectors')?.value;
    if (!sectorsNode) p.add(sn.pos, `segment ${i + 1} (${target.value}) has no sectors`, 'add sectors: (its length in 512-byte sectors)');
    const sectors = sectorsNode && argNode(sectorsNode, p);
    if (sectors) {
      const t = argType(sectors, scope, segGuards, p);
      if (t && !fits(t, T.int)) p.add(sectorsNode!.pos, `segment ${i + 1}: sectors is ${tyName(t)}, not an integer`, 'give a number of 512-byte sectors');
    }
    const fields: [string, ArgNode][] = [];
    for (const e of sn.entries) {
      if (e.key === 'target' || e.key === 'sectors' || e.key === 'when') continue;
      const f = spec.fields[e.key];
      if (!f) {
        p.add(e.keyPos, `segment ${i + 1} (${target.value}) has no field ${JSON.stringify(e.key)}`, `its fields: ${['sectors', 'when', ...Object.keys(spec.fields)].join(', ')}`);
        continue;
      }
      const a = argNode(e.value, p);
      if (!a) continue;
      const t = argType(a, scope, segGuards, p);
      const want = fieldType(f.kind);
      if (t && !fits(t, f.optional ? T.opt(want) : want)) p.add(e.value.pos, `segment ${i + 1} (${target.value}): ${e.key} is ${tyName(t)}, not ${tyName(want)}`, 'give it a value of that type');
      fields.push([e.key, a]);
    }
    for (const [fname, f] of Object.entries(spec.fields)) {
      if (!f.optional && !get(fname)) p.add(sn.pos, `segment ${i + 1} (${target.value}) needs ${fname}`, `add ${fname}: (${tyName(fieldType(f.kind))})`);
    }
    if (sectors) segs.push({ target: target.value, sectors, when, fields, node: sn });
  }
  return segs;
}

export type { Value };
