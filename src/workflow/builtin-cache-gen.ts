/**
 * Build time only (scripts/bundle.mjs): the built-ins compiled by the real parser and checker,
 * as the source of the module that replaces builtin-cache.ts in the bundle.
 */
import { BUILTIN_TEXTS } from '../../machines/builtins.js';
import type { CachedBuiltin } from './builtin-cache.js';
import { RECORDED_LABEL } from './builtin-cache.js';
import { checkTree } from './check.js';
import { freeze } from './frozen.js';
import { plain } from './nodes.js';
import { canonicalJson, checkRecorded } from './recorded.js';
import { parseYaml } from './yaml.js';

/** Each built-in compiled: what builtin-cache.ts's BUILTIN_CACHE holds in the bundle. */
export function compileBuiltins(): Record<string, CachedBuiltin> {
  const out: Record<string, CachedBuiltin> = {};
  for (const [name, text] of Object.entries(BUILTIN_TEXTS)) {
    const root = parseYaml(text);
    const r = checkTree(root, `machines/${name}.yaml`);
    if (!r.workflow) throw new Error(`machines/${name}.yaml: ${r.problems.map((p) => `${p.pos.line}:${p.pos.col} ${p.message}`).join('; ')}`);
    const definition = plain(root);
    out[name] = { definition: canonicalJson(definition), workflow: freeze(checkRecorded(definition, RECORDED_LABEL)) };
  }
  return out;
}

/** The module text that stands for builtin-cache.ts in the bundle: the same code, the table filled. */
export function builtinCacheModule(original: string): string {
  const marker = 'export const BUILTIN_CACHE: Readonly<Record<string, CachedBuiltin>> = {};';
  if (!original.includes(marker)) throw new Error(`builtin-cache.ts no longer has the line ${marker}`);
  return original.replace(marker, `export const BUILTIN_CACHE: Readonly<Record<string, CachedBuiltin>> = ${JSON.stringify(compileBuiltins())};`);
}
