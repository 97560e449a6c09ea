/** The expression language: parse, type, evaluate; errors at their offset; hostile input bounded. */
import { describe, expect, test } from 'vitest';
import { evaluate, evaluateTemplate, type Value } from '../../../src/workflow/evaluate.js';
import { T, templateType, typeOf, tyName, type Ty, type TypeScope } from '../../../src/workflow/typecheck.js';
import { ExprError, parseExpr, parseTemplate, show } from '../../../src/workflow/expr.js';

const PARAMS: Record<string, Value> = {
  size: 128 * 1024 * 1024,
  part: { number: 2, start: 24576, sectors: 98304, filesystem: 'ext4' },
  whole: { number: null, start: 0, sectors: 4096, filesystem: null },
  name: 'flow-x',
  mount: true,
  sync: false,
  big: Number.MAX_SAFE_INTEGER,
  neg: -7,
};
const TYPES: Record<string, Ty> = {
  size: T.int,
  part: T.record({ number: T.opt(T.int), start: T.int, sectors: T.int, filesystem: T.opt(T.string) }),
  whole: T.record({ number: T.opt(T.int), start: T.int, sectors: T.int, filesystem: T.opt(T.string) }),
  name: T.string,
  mount: T.bool,
  sync: T.bool,
  big: T.int,
  neg: T.int,
};

const evalScope = {
  ref(root: string, path: readonly string[]): Value {
    if (root === 'run') return { id: 'k3m9x2ab' }[path[0]!] ?? null;
    let v: Value = PARAMS[path[0]!]!;
    for (const f of path.slice(1)) v = (v as Record<string, Value>)[f]!;
    return v;
  },
};
const typeScope: TypeScope = {
  ref(e) {
    if (e.root === 'run' && e.path[0] === 'id') return T.string;
    if (e.root !== 'params' || !Object.hasOwn(TYPES, e.path[0]!)) throw new ExprError(`unknown ${e.root}.${e.path[0]}`, e.at, 'x');
    let t = TYPES[e.path[0]!]!;
    for (const f of e.path.slice(1)) t = (t as { fields: Record<string, Ty> }).fields[f]!;
    return t;
  },
};

const run = (src: string) => evaluate(parseExpr(src), evalScope);

describe('evaluation', () => {
  test.each<[string, Value]>([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['7 / 2', 3],
    ['-7 / 2', -4],
    ['7 % 3', 1],
    ['-7 % 3', 2],
    ['7 % -3', -2],
    ['params.neg / 2 * 2 + params.neg % 2', -7],
    ['params.size / 512', 262144],
    ['max(params.size / 512, params.part.sectors)', 262144],
    ['min(3, 1, 2)', 1],
    ['max(params.size / 512, params.part.sectors) - params.part.sectors', 163840],
    ['params.mount && !params.sync', true],
    ['params.sync || params.size > 0', true],
    ['params.part.filesystem in ["ext2", "ext3", "ext4"]', true],
    ['params.whole.filesystem in ["ext2", "ext3", "ext4"]', false],
    ['params.whole.number == null ? "whole" : "part " + str(params.whole.number)', 'whole'],
    ['params.part.number == null ? "whole" : "part " + str(params.part.number)', 'part 2'],
    ["params.sync ? ['sync'] : []", []],
    ['[1, 2] == [1, 2]', true],
    ['"a" != "b"', true],
    ['3 >= 3 && 2 < 3 && 4 > 3 && 3 <= 3', true],
    ["'it\\'s' + \"\\\"\"", 'it\'s"'],
    ['run.id', 'k3m9x2ab'],
    // short-circuit: the right side is never evaluated (it would divide by zero)
    ['params.sync && 1 / 0 == 0', false],
    ['params.mount || 1 / 0 == 0', true],
    ['params.mount ? 1 : 1 / 0', 1],
  ])('%s = %j', (src, want) => {
    expect(run(src)).toEqual(want);
  });

  test.each<[string, string, Value]>([
    ['flow-${run.id}', 'text', 'flow-k3m9x2ab'],
    ['${params.size}', 'typed', 128 * 1024 * 1024],
    ['${params.mount}', 'typed', true],
    ['$${literal} and ${1 + 1}', 'escaped', '${literal} and 2'],
    ['no expression', 'plain text', 'no expression'],
    ['', 'empty', ''],
    ['${ params.name }-base', 'spaces', 'flow-x-base'],
    ["create ${params.name} (linear${params.size / 512 > params.part.sectors ? ' + zero' : ''})", 'nested strings', 'create flow-x (linear + zero)'],
  ])('template %s (%s)', (src, _what, want) => {
    expect(evaluateTemplate(parseTemplate(src), evalScope)).toEqual(want);
  });
});

function errorOf(f: () => unknown): { message: string; at: number } {
  try {
    f();
  } catch (err) {
    if (err instanceof ExprError) return { message: err.message, at: err.at };
    throw err;
  }
  throw new Error('no error');
}

describe('errors name the offset of what is wrong', () => {
  test.each<[string, RegExp, number]>([
    ['1 +', /unexpected the end/, 3],
    ['1 2', /unexpected "2"/, 2],
    ['params.size ; 1', /unexpected character ";"/, 12],
    ['`id`', /unexpected character "`"/, 0],
    ['foo.bar', /unknown name "foo"/, 0],
    ['eval("1")', /unknown name "eval"/, 0],
    ['params', /params alone is not a value/, 0],
    ['params.', /expected a name/, 7],
    ['"abc', /string not closed/, 0],
    ['"a\\nb"', /unknown escape/, 2],
    ['1 < 2 < 3', /comparisons do not chain/, 6],
    ['min(1, 2', /expected "\)"/, 8],
    ['12abc', /is not a number/, 0],
    ['99999999999999999999', /too large/, 0],
    ['(' .repeat(40) + '1' + ')'.repeat(40), /nested too deeply/, 32],
    ['!'.repeat(40) + 'true', /nested too deeply/, 32],
    ['1' + '+1'.repeat(250), /more than 400 tokens/, 401],
    ['x'.repeat(1001), /too long/, 0],
  ])('parse %s', (src, message, at) => {
    const e = errorOf(() => parseExpr(src));
    expect(e.message).toMatch(message);
    expect(e.at).toBe(at);
  });

  test.each<[string, RegExp, number]>([
    ['${1 + }', /unexpected "}"/, 6],
    ['a ${params.size', /not closed/, 2],
    ['${}', /unexpected "}"/, 2],
    ['x}', /$^/, -1],
  ])('template %s', (src, message, at) => {
    if (at < 0) {
      expect(parseTemplate(src).parts).toEqual([{ text: 'x}' }]);
      return;
    }
    const e = errorOf(() => parseTemplate(src));
    expect(e.message).toMatch(message);
    expect(e.at).toBe(at);
  });

  test.each<[string, RegExp, number]>([
    ['params.big + 1', /integer overflow/, 0],
    ['params.big * 2', /integer overflow/, 0],
    ['-params.big - 2', /integer overflow/, 0],
    ['1 / (params.size - params.size)', /division by zero/, 5],
    ['1 % 0', /division by zero/, 4],
  ])('evaluate %s', (src, message, at) => {
    const e = errorOf(() => run(src));
    expect(e.message).toMatch(message);
    expect(e.at).toBe(at);
  });

  test('strings cannot grow without bound', () => {
    const scope = { ref: () => 'x'.repeat(40_000) };
    expect(errorOf(() => evaluate(parseExpr('params.a + params.a'), scope)).message).toMatch(/longer than 65536/);
  });
});

describe('static types', () => {
  test.each<[string, string]>([
    ['params.size / 512', 'integer'],
    ['params.mount && params.size > 0', 'boolean'],
    ['params.part.number', 'integer or null'],
    ['params.part.number == null ? 0 : params.part.number', 'integer'],
    ['params.part.number != null && params.part.number > 1', 'boolean'],
    ['params.mount ? null : 1', 'integer or null'],
    ["params.sync ? ['sync'] : []", 'list of string'],
    ['str(params.size)', 'string'],
  ])('%s is %s', (src, want) => {
    expect(tyName(typeOf(parseExpr(src), typeScope))).toBe(want);
  });

  test.each<[string, RegExp, number]>([
    ['params.name + 1', /expected string/, 14],
    ['params.size + "b"', /expected integer/, 14],
    ['params.mount + 1', /expected integer/, 0],
    ['!params.size', /expected boolean/, 1],
    ['params.size && params.mount', /expected boolean/, 0],
    ['params.part.number + 1', /may be null/, 0],
    ['"read " + str(params.part.number)', /str\(\) of integer or null/, 14],
    ['params.size == "x"', /never equal/, 15],
    ['params.size in 3', /in needs a list/, 15],
    ['params.size in ["a"]', /never in a list of string/, 0],
    ['params.mount ? 1 : "a"', /differ/, 15],
    ['min(params.name, 1)', /expected integer/, 4],
    ['str(params.mount)', /str\(\) of boolean/, 4],
    ['[1, "a"]', /different types/, 4],
    ['params.nope', /unknown params.nope/, 0],
  ])('%s is refused', (src, message, at) => {
    const e = errorOf(() => typeOf(parseExpr(src), typeScope));
    expect(e.message).toMatch(message);
    expect(e.at).toBe(at);
  });

  test('a text takes strings and integers, not booleans or lists', () => {
    expect(tyName(templateType(parseTemplate('${params.name}-${params.size}'), typeScope))).toBe('string');
    expect(tyName(templateType(parseTemplate('${params.mount}'), typeScope))).toBe('boolean');
    expect(errorOf(() => templateType(parseTemplate('on ${params.mount}'), typeScope)).message).toMatch(/only strings and integers go into a text/);
    expect(errorOf(() => templateType(parseTemplate('p${params.part.number}'), typeScope)).message).toMatch(/may be null inside a text/);
  });

  test('the canonical text of a condition ignores spacing and redundant parentheses', () => {
    expect(show(parseExpr('params.mount&&(!params.sync)'))).toBe(show(parseExpr('params.mount && !params.sync')));
  });
});
