/**
 * The build's cache of the built-in workflows (src/workflow/builtin-cache.ts): what it holds
 * for each built-in is what the parser and checker give, and what a loaded built-in and a
 * recorded run of one are given from it is the same workflow as without it.
 */
import { describe, expect, test } from 'vitest';
import { BUILTIN_TEXTS } from '../../../machines/builtins.js';
import { BUILTIN_CACHE, RECORDED_LABEL } from '../../../src/workflow/builtin-cache.js';
import { builtinCacheModule, compileBuiltins } from '../../../src/workflow/builtin-cache-gen.js';
import { freeze, thaw } from '../../../src/workflow/frozen.js';
import { loadText } from '../../../src/workflow/load.js';
import { checkRecorded, canonicalJson } from '../../../src/workflow/recorded.js';
import { plain } from '../../../src/workflow/nodes.js';
import { parseYaml } from '../../../src/workflow/yaml.js';
import { readFileSync } from 'node:fs';

/** A value without its file positions: the PNodes a compiled workflow keeps only for the checker's messages. */
function withoutPositions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutPositions);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'node' && k !== 'source').map(([k, x]) => [k, withoutPositions(x)]));
  return v;
}

describe('frozen JSON', () => {
  test('keeps undefined in objects and arrays; thaw(freeze(x)) is strictly equal', () => {
    const x = { a: undefined, b: [1, undefined, { c: undefined, d: null }], e: 'x', f: [[undefined]] };
    expect(JSON.parse(JSON.stringify(x))).not.toStrictEqual(x);
    expect(thaw(freeze(x))).toStrictEqual(x);
  });
});

describe('the built-ins compiled at build time', () => {
  const compiled = compileBuiltins();

  test('one entry per built-in; the sources carry none (tests run the parser and checker)', () => {
    expect(Object.keys(compiled)).toEqual(Object.keys(BUILTIN_TEXTS));
    expect(BUILTIN_CACHE).toEqual({});
  });

  for (const [name, text] of Object.entries(BUILTIN_TEXTS)) {
    test(`${name}: the definition a run records, and the workflow the checker gives it`, () => {
      const c = compiled[name]!;
      const definition = plain(parseYaml(text));
      expect(c.definition).toBe(canonicalJson(definition));
      expect(thaw(c.workflow)).toStrictEqual(checkRecorded(definition, RECORDED_LABEL));
    });

    test(`${name}: the same workflow as the file parsed and checked, but for file positions`, () => {
      const fromFile = loadText(text, `machines/${name}.yaml`);
      const fromCache = thaw(compiled[name]!.workflow);
      expect(withoutPositions(fromCache)).toStrictEqual(withoutPositions(fromFile));
      // and the comparison sees a difference where there is one
      expect(withoutPositions({ ...(fromCache as object), description: 'other' })).not.toStrictEqual(withoutPositions(fromFile));
    });
  }

  test('the module the bundle gets is builtin-cache.ts with the table filled', () => {
    const original = readFileSync(new URL('../../../src/workflow/builtin-cache.ts', import.meta.url), 'utf8');
    const m = builtinCacheModule(original);
    expect(m.replace(/= \{.*\};/, '= {};')).toBe(original);
    expect(m).toContain(`= ${JSON.stringify(compiled)};`);
    expect(() => builtinCacheModule(original.replace('= {};', '= Object.freeze({});'))).toThrow(/no longer has the line/);
  });
});
