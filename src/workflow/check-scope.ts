/** What an expression may refer to where it stands (params, values, run facts, earlier steps' outputs, given, host) and the type of each reference. */
import type { CompiledStep } from './definition.js';
import { T, tyName, type Ty, type TypeScope } from './typecheck.js';
import { ExprError, show, type Ast } from './expr.js';
import { KINDS } from './kinds.js';
import { subtraction } from './check-problems.js';
import { leaves } from './check-exprs.js';

export const RUN_FACTS: Record<string, Ty> = { id: T.string, dir: T.string, uuid: T.string };
/** Facts of the machine preflight runs on, known only to checks (not recorded with the run): host.memory, its RAM in bytes. */
export const HOST_FACTS: Record<string, Ty> = { memory: T.int };
const RUN_FACT_DOC = 'run.id (the run id), run.dir (where default mount points go, /run/flow), run.uuid (a fresh UUID recorded with the run)';


export interface StepInfo {
  index: number;
  kind: CompiledStep['kind'];
  when?: Ast;
  whenText?: string;
}

export interface ScopeOpts {
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

export function makeScope(o: ScopeOpts): TypeScope {
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
