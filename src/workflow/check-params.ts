/** flow check's params: types, defaults, references between params, and a param's own checks. */
import { UsageError } from '../errors.js';
import { formatSize, parseInteger, parseSize } from '../preflight/values.js';
import type { ArgNode, CompiledCheck, Definition, Workflow } from './definition.js';
import { fits, T, tyName, type Ty } from './typecheck.js';
import { paramType, type ParamDef } from './params.js';
import { nodeAt, posAt, type PNode } from './nodes.js';
import { Problems, keyPos } from './check-problems.js';
import { argNode, argType, givenTypesOf, compileChecks } from './check-exprs.js';
import { makeScope } from './check-scope.js';

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


/** A pattern that backtracks badly: a quantified group that itself holds a quantifier. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]/;


/**
 * The params section of a workflow file: each param's fields, default (a literal the option
 * would accept, or a template over params before it), `of` and `fstab` references, and its
 * own checks, compiled in file order.
 */
export function checkParams(root: PNode, def: Definition, p: Problems): { params: Workflow['params']; paramTypes: Map<string, Ty>; paramNames: string[]; checks: CompiledCheck[] } {
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

  return { params, paramTypes, paramNames, checks };
}
