/** The safe YAML reader: positions, and hostile files refused in bounded time and memory. */
import { describe, expect, test } from 'vitest';
import { LIMITS, parseYaml, plain, YamlRefused } from '../../../src/workflow/yaml.js';

function refusal(text: string): { line: number; col: number; message: string } {
  try {
    parseYaml(text);
  } catch (err) {
    if (err instanceof YamlRefused) return { ...err.diagnostics[0]!.pos, message: err.diagnostics[0]!.message };
    throw err;
  }
  throw new Error('not refused');
}

/** An alias bomb: each level refers twice to the one before, 2^levels values in all. */
function aliasBomb(levels: number): string {
  const lines = ['l0: &l0 [x, x]'];
  for (let i = 1; i <= levels; i++) lines.push(`l${i}: &l${i} [*l${i - 1}, *l${i - 1}]`);
  return lines.join('\n') + '\n';
}

function nestedMaps(levels: number): string {
  return Array.from({ length: levels }, (_, i) => `${'  '.repeat(i)}k${i}:`).join('\n') + ' x\n';
}

describe('parseYaml', () => {
  test('keeps the line and column of every node', () => {
    const root = parseYaml('name: demo\nsteps:\n  - name: a\n    kind: mount\n');
    expect(plain(root)).toEqual({ name: 'demo', steps: [{ name: 'a', kind: 'mount' }] });
    if (root.kind !== 'map') throw new Error('not a map');
    const steps = root.entries[1]!;
    expect(steps.keyPos).toEqual({ line: 2, col: 1 });
    if (steps.value.kind !== 'seq' || steps.value.items[0]!.kind !== 'map') throw new Error('shape');
    const kind = steps.value.items[0]!.entries[1]!;
    expect(kind.keyPos).toEqual({ line: 4, col: 5 });
    expect(kind.value.pos).toEqual({ line: 4, col: 11 });
  });

  test('the core schema: yes/no/on/off are strings, true/false booleans, 0x10 a number', () => {
    expect(plain(parseYaml('a: yes\nb: off\nc: true\nd: 0x10\ne: null\nf: "1"\n'))).toEqual({ a: 'yes', b: 'off', c: true, d: 16, e: null, f: '1' });
  });

  test('brackets inside text do not count as nesting', () => {
    const text = Array.from({ length: 40 }, (_, i) => `t${i}: attach [disk ${i} (of {many}`).join('\n') + '\n';
    expect(plain(parseYaml(text))).toMatchObject({ t0: 'attach [disk 0 (of {many}' });
  });

  test('aliases to plain values are expanded', () => {
    expect(plain(parseYaml('a: &x [1, 2]\nb: *x\n'))).toEqual({ a: [1, 2], b: [1, 2] });
  });

  const hostile: [string, () => string, RegExp][] = [
    ['an alias bomb (2^40 values from 80 aliases)', () => aliasBomb(40), /more than 20000 values|more than 64 aliases/],
    ['an alias bomb within the alias count', () => aliasBomb(20), /more than 20000 values/],
    ['a reference cycle', () => 'a: &a [1, *a]\n', /reference cycle/],
    ['an alias to no anchor', () => 'a: *nope\n', /YAML: .*nope|no anchor/],
    ['100 000 nested flow brackets', () => ('['.repeat(80) + '\n').repeat(1250) + (']'.repeat(80) + '\n').repeat(1250), /nesting too deep: more than 32 open brackets/],
    ['2000 nested block sequences on one line', () => '- '.repeat(2000) + 'x\n', /nesting too deep/],
    ['200 nested maps by indentation', () => nestedMaps(200), /nesting too deep: line 66 is indented 130 characters/],
    ['40 nested maps (within the scan, past the tree limit)', () => nestedMaps(40), /nesting too deep \(more than 32 levels\)/],
    ['a huge file', () => 'a: ' + 'x'.repeat(LIMITS.maxBytes) + '\n', /bytes \(at most 262144\)/],
    ['a very long line', () => 'a: ' + 'x'.repeat(5000) + '\n', /characters long/],
    ['a custom tag', () => 'a: !foo x\n', /tag|Unresolved tag/],
    ['a js/function tag', () => 'a: !!js/function "function () {}"\n', /tag/],
    ['an explicit standard tag', () => 'a: !!str 1\n', /tag .* is not allowed/],
    ['a duplicate key', () => 'a: 1\na: 2\n', /unique/],
    ['a control character', () => 'a: "x\x1b[2Jy"\n', /control character/],
    ['a fraction', () => 'a: 1.5\n', /not a whole number/],
    ['a number beyond 2^53', () => 'a: 9007199254740993\n', /not a whole number flow can represent exactly/],
    ['a non-string key', () => '[1]: x\n', /key must be a plain name/],
    ['two documents', () => 'a: 1\n---\nb: 2\n', /YAML: /],
    ['an empty file', () => '', /empty/],
  ];
  test.each(hostile)('refuses %s, quickly', (_what, make, message) => {
    const text = make();
    const t0 = performance.now();
    const r = refusal(text);
    expect(r.message).toMatch(message);
    expect(r.line).toBeGreaterThanOrEqual(1);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  test('positions of refusals', () => {
    expect(refusal('ok: 1\nbad: !foo x\n')).toMatchObject({ line: 2, col: 6 });
    expect(refusal('a: &a [1, *a]\n')).toMatchObject({ line: 1, col: 11 });
    expect(refusal('a: 1\nb:\n  c: 1\n  c: 2\n')).toMatchObject({ line: 4, col: 3 });
  });
});
