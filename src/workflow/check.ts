/**
 * `flow check`'s core: a parsed YAML tree → the compiled workflow, or every problem found,
 * each at file:line:column with what is wrong and the fix. Checks the schema (zod), then
 * what can be known before params: unknown kinds, arguments and fields, duplicate names,
 * unknown or forward references, references to a step that may be skipped, conditions
 * that refer to nothing, and the type of every expression. Its parts: check-problems.ts
 * (messages and positions), check-exprs.ts (templates, conditions, checks), check-scope.ts
 * (what a reference may name), check-params.ts (the params section).
 */
import { TARGETS, fieldType } from './dm-table.js';
import { definitionSchema, type ArgNode, type CompiledStep, type Segment, type Workflow } from './definition.js';
import type { Value } from './evaluate.js';
import { conjuncts, fits, T, typeOf, tyName, type Ty, type TypeScope } from './typecheck.js';
import { ExprError, type Ast } from './expr.js';
import { KINDS } from './kinds.js';
import { nodeAt, plain, posAt, type Diagnostic, type PNode } from './nodes.js';
import { Problems, exprPos, keyPos, zodProblems } from './check-problems.js';
import { argNode, parseCondition, argType, givenTypesOf, compileChecks, typedCondition } from './check-exprs.js';
import { makeScope, type StepInfo } from './check-scope.js';
import { checkParams } from './check-params.js';

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
  const { params, paramTypes, paramNames, checks } = checkParams(root, def, p);

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
      const scope = makeScope({ params: paramTypes, values: valueTypes, steps: { forbidden: 'a condition' }, paramNames });
      when = typedCondition(nodeAt(root, [...path, 'when'])!, scope, p, 'params.x > 0');
      whenText = String(s.when);
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
