/**
 * A checked workflow plus resolved params and the run's facts → the run's steps as data:
 * name, kind, title, durable, and args(outputs of earlier steps) — the same shape as the
 * TypeScript definitions' StepDef (machines/types.ts), which this is to replace.
 */
import type { Json, Outputs, StepDef } from '../../machines/types.js';
import { renderTable, type EvaluatedSegment } from './dm-table.js';
import type { ArgNode, CompiledCheck, CompiledStep, Workflow } from './definition.js';
import { evaluate, evaluateTemplate, type EvalScope, type Value } from './evaluate.js';
import { ExprError, type Ast, type RefRoot } from './expr.js';
import { dmUuid } from './kinds.js';
import { optionOf, parseScalarParam, type ParamDef } from './params.js';
import { UsageError } from '../errors.js';

export interface RunFacts {
  id: string;
  /** where default mount points go (FLOW_RUN_DIR, /run/flow) */
  dir: string;
  /** a fresh UUID, recorded with the run */
  uuid: string;
}

/** A reference to an output of a step that has none (not run yet, or skipped). */
export class MissingOutput extends Error {}

/** An evaluation failure, naming the step and argument. */
export class ResolveError extends Error {}

/** The options as given (for checks: given.NAME), by param name. */
export type Given = Readonly<Record<string, string | boolean | undefined>>;

/** Facts of the machine preflight runs on (for checks: host.NAME; src/workflow/check-scope.ts HOST_FACTS). */
export interface HostFacts {
  /** its RAM in bytes (MemTotal) */
  memory: number;
}

function scopeOf(params: Record<string, Value>, values: Record<string, Value>, run: RunFacts, outputs: Outputs, given?: Given, host?: HostFacts): EvalScope {
  return {
    ref(root: RefRoot, path: readonly string[], at: number): Value {
      let v: Value | undefined;
      let rest: readonly string[];
      if (root === 'steps') {
        const o = outputs[path[0]!];
        if (!o || !Object.hasOwn(o, path[1]!)) throw new MissingOutput(`step ${path[0]} has no output ${path[1]}`);
        v = o[path[1]!] as Value;
        rest = path.slice(2);
      } else if (root === 'given') {
        if (!given) throw new ExprError(`given.${path[0]} is known only to checks`, at, 'a bug: flow check should have caught this');
        v = given[path[0]!] ?? null;
        rest = path.slice(1);
      } else if (root === 'host') {
        if (!host || !Object.hasOwn(host, path[0]!)) throw new ExprError(`host.${path[0]} is known only to checks`, at, 'a bug: flow check should have caught this');
        v = host[path[0] as keyof HostFacts];
        rest = path.slice(1);
      } else {
        const src: Record<string, Value> = root === 'params' ? params : root === 'values' ? values : (run as unknown as Record<string, Value>);
        if (!Object.hasOwn(src, path[0]!)) throw new ExprError(`${root}.${path[0]} has no value`, at, 'a bug: flow check should have caught this');
        v = src[path[0]!];
        rest = path.slice(1);
      }
      for (const f of rest) {
        if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, f)) throw new ExprError(`${root}.${path.join('.')}: no field ${f}`, at, 'check the params');
        v = (v as Record<string, Value>)[f];
      }
      return v as Value;
    },
  };
}

function evalArg(a: ArgNode, scope: EvalScope): Value {
  switch (a.t) {
    case 'lit':
      return a.v;
    case 'tpl':
      return evaluateTemplate(a.tpl, scope);
    case 'list':
      return a.items.map((x) => evalArg(x, scope));
    case 'map':
      return Object.fromEntries(a.entries.map(([k, v]) => [k, evalArg(v, scope)]));
  }
}

const holds = (e: Ast | undefined, scope: EvalScope) => e === undefined || evaluate(e, scope) === true;

function stepArgs(s: CompiledStep, scope: EvalScope, runId: string, plan: boolean): Json {
  const args: Json = {};
  for (const [k, a] of s.args) {
    try {
      args[k] = evalArg(a, scope);
    } catch (err) {
      if (err instanceof ExprError) throw new ResolveError(`step ${s.name}: ${k}: ${err.message}`);
      throw err;
    }
  }
  if (s.kind === 'dm.create') {
    args.uuid = dmUuid(runId, s.name);
    const segs: EvaluatedSegment[] = [];
    for (const seg of s.table ?? []) {
      if (!holds(seg.when, scope)) continue;
      segs.push({ target: seg.target, sectors: evalArg(seg.sectors, scope), fields: Object.fromEntries(seg.fields.map(([k, a]) => [k, evalArg(a, scope)])) });
    }
    try {
      args.table = renderTable(segs, plan);
    } catch (err) {
      if (err instanceof MissingOutput) throw err;
      throw new ResolveError(`step ${s.name}: table: ${(err as Error).message}`);
    }
  }
  return args;
}

export interface Instance {
  steps: StepDef[];
  /** what `flow run` prints at the end; an output whose step did not run is left out */
  outputs(outputs: Outputs): Record<string, string>;
  values: Record<string, Value>;
}

/** The run's steps for these params (which preflight resolved and checked). */
/** `plan`: for `flow plan` only, where earlier steps' outputs are placeholders. */
export function instantiate(wf: Workflow, params: Record<string, Value>, run: RunFacts, plan = false): Instance {
  const values: Record<string, Value> = {};
  const base = scopeOf(params, values, run, {});
  for (const [name, a] of wf.values) values[name] = evalArg(a, base);
  const steps: StepDef[] = [];
  for (const s of wf.steps) {
    if (!holds(s.when, base)) continue;
    steps.push({
      name: s.name,
      kind: s.kind,
      title: String(evalArg(s.title, base)),
      durable: s.durable,
      args: (outputs: Outputs) => stepArgs(s, scopeOf(params, values, run, outputs), run.id, plan),
      planArgs: (outputs: Outputs) => stepArgs(s, scopeOf(params, values, run, outputs), run.id, true),
    });
  }
  return {
    steps,
    values,
    outputs(o: Outputs) {
      const r: Record<string, string> = {};
      const scope = scopeOf(params, values, run, o);
      for (const [name, a] of wf.outputs) {
        try {
          r[name] = String(evalArg(a, scope));
        } catch (err) {
          if (!(err instanceof MissingOutput)) throw err;
        }
      }
      return r;
    },
  };
}

/**
 * The workflow's `checks:` over these params and its values, in file order: the first whose
 * condition holds refuses the run (UsageError with its message and hint) before anything changes.
 */
export function refuseByChecks(wf: Workflow, params: Record<string, Value>, run: RunFacts, given: Given, host?: HostFacts): void {
  const values: Record<string, Value> = {};
  const scope = scopeOf(params, values, run, {}, given, host);
  for (const [name, a] of wf.values) values[name] = evalArg(a, scope);
  refuse(wf.checks.filter((c) => c.param === undefined), scope);
}

/** A param's own checks, as soon as it is known (`sofar`: it and the params before it). */
export function refuseByParamChecks(wf: Workflow, param: string, sofar: Record<string, Value>, run: RunFacts, given: Given, host?: HostFacts): void {
  refuse(wf.checks.filter((c) => c.param === param), scopeOf(sofar, {}, run, {}, given, host));
}

/** The first check whose condition holds refuses the run (UsageError with its message and hint). */
function refuse(checks: readonly CompiledCheck[], scope: EvalScope): void {
  for (const c of checks) {
    if (evaluate(c.when, scope) !== true) continue;
    throw new UsageError(String(evalArg(c.message, scope)), c.hint ? String(evalArg(c.hint, scope)) : undefined);
  }
}

/** Params whose value is what preflight found on the host (a file's identity, a partition, a mount point). */
export const HOST_TYPES: ReadonlySet<string> = new Set(['existing-file', 'file', 'directory', 'partition']);

/**
 * The run's params, in file order: each scalar from its option (`given`, by param name) or
 * its default (a literal, or a template over run facts and earlier params), checked as the
 * option would be; each host-typed param from `host` (what preflight found).
 */
export function resolveParams(wf: Workflow, given: Readonly<Record<string, string | boolean | undefined>>, host: Readonly<Record<string, Value>>, run: RunFacts, cwd: string): Record<string, Value> {
  const params: Record<string, Value> = {};
  for (const [name, p, dflt] of wf.params) {
    if (HOST_TYPES.has(p.type)) {
      if (!Object.hasOwn(host, name)) throw new Error(`param ${name} (${p.type}) needs what preflight found on the host`);
      params[name] = host[name]!;
      continue;
    }
    const raw = given[name];
    if (raw !== undefined) {
      params[name] = parseScalarParam(name, p, raw, cwd);
      continue;
    }
    if (p.required) throw needs(wf, name, p);
    if (p.type === 'boolean') {
      params[name] = p.default === true;
      continue;
    }
    if (!dflt) throw new Error(`param ${name} has no default`);
    const v = dflt.t === 'lit' ? dflt.v : evalArg(dflt, scopeOf(params, {}, run, {}));
    if (v === null || typeof v === 'object') throw new Error(`param ${name}: the default is not a plain value`);
    params[name] = parseScalarParam(name, p, typeof v === 'boolean' ? v : String(v), cwd);
  }
  return params;
}

/** A required param left out: "loop-mount needs --file PATH", e.g. the file's first example that gives it. */
function needs(wf: Workflow, name: string, p: ParamDef): UsageError {
  const value = optionOf(name, p).value;
  const example = wf.examples.find((e) => e.split(/\s+/).includes(`--${name}`)) ?? wf.examples[0];
  return new UsageError(`${wf.name} needs --${name}${value ? ` ${value}` : ''}`, example ? `e.g. ${example}` : `give --${name}`);
}

/** What the host holds for a host-typed param: `text` is the option's value or the evaluated default. */
export type HostResolver = (name: string, p: ParamDef, text: string, sofar: Readonly<Record<string, Value>>) => Promise<Value>;

/**
 * resolveParams for a preflight that reads the host: each host-typed param's path (its
 * option, or its default evaluated over run facts and earlier params) is resolved by `host`
 * in file order, a partition after the image it is `of`; each param's own checks refuse
 * as soon as it is known (`facts`: the machine's, for host.NAME).
 */
export async function resolveParamsOnHost(wf: Workflow, given: Given, run: RunFacts, cwd: string, host: HostResolver, facts?: HostFacts): Promise<Record<string, Value>> {
  const found: Record<string, Value> = {};
  const sofar: Record<string, Value> = {};
  for (const [name, p, dflt] of wf.params) {
    if (HOST_TYPES.has(p.type)) {
      const raw = given[name];
      let text: string;
      if (typeof raw === 'string') text = raw;
      else if (raw !== undefined) throw new UsageError(`--${name} needs a value`, `e.g. --${name} ${optionOf(name, p).value ?? 'VALUE'}`);
      else if (p.required) throw needs(wf, name, p);
      else if (dflt) text = String(dflt.t === 'lit' ? dflt.v : evalArg(dflt, scopeOf(sofar, {}, run, {})));
      else text = '';
      found[name] = await host(name, p, text, sofar);
      sofar[name] = found[name]!;
    } else {
      // scalars in order too: a later default may read them
      Object.assign(sofar, resolveParams({ ...wf, params: wf.params.filter(([n]) => n === name || Object.hasOwn(sofar, n)) }, given, found, run, cwd));
    }
    refuseByParamChecks(wf, name, sofar, run, given, facts);
  }
  return resolveParams(wf, given, found, run, cwd);
}
