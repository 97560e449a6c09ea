/**
 * `checks:` of a workflow file: typed by flow check, evaluated by refuseByChecks in file
 * order over params, values and `given` (the options as typed), each a UsageError with its
 * message and hint. Also `size(n)` and a string param's `format: dm-name`.
 */
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { checkText, loadText } from '../../../src/workflow/load.js';
import { parseScalarParam } from '../../../src/workflow/params.js';
import { refuseByChecks } from '../../../src/workflow/resolve.js';

const RUN = { id: 'abcd1234', dir: '/run/flow', uuid: '00000000-0000-4000-8000-000000000000' };

const wf = (checks: string, extra = '') => `name: t
description: a test
params:
  size:
    type: size
    description: a size
    default: 1G
  mount:
    type: boolean
    default: true
    description: do not mount
${extra}values:
  half: \${params.size / 2}
checks:
${checks}
steps:
  - name: mk
    kind: dir.make
    title: make
    with:
      dirs: ['/x']
`;

function refusal(f: () => void): { message: string; hint: string | undefined } | null {
  try {
    f();
    return null;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return { message: err.message, hint: err.hint };
  }
}

describe('checks:', () => {
  const w = loadText(
    wf(`  - when: given.size != null && !params.mount
    message: '--size \${given.size} (\${size(params.size)}, half \${size(values.half)}) with --no-mount'
    hint: leave out --size
  - when: params.size > 1073741824
    message: too large
`),
    't.yaml',
  );

  test('the first check that holds refuses, with its message and hint; none holds: nothing', () => {
    expect(refusal(() => refuseByChecks(w, { size: 1 << 30, mount: true }, RUN, {}))).toBeNull();
    expect(refusal(() => refuseByChecks(w, { size: 1 << 30, mount: false }, RUN, {}))).toBeNull(); // --size not given
    expect(refusal(() => refuseByChecks(w, { size: 3 << 29, mount: false }, RUN, { size: '1536M' }))).toEqual({ message: '--size 1536M (1536M, half 768M) with --no-mount', hint: 'leave out --size' });
    expect(refusal(() => refuseByChecks(w, { size: 2 * 2 ** 30, mount: true }, RUN, { size: '2G' }))).toEqual({ message: 'too large', hint: undefined });
  });

  test('flow check: given only in checks, a condition that is not a boolean, a nullable value unguarded in a message', () => {
    const problems = (text: string) => checkText(text, 't.yaml').problems.map((p) => `${p.pos.line}:${p.pos.col} ${p.message}`);
    expect(problems(wf(`  - when: params.size\n    message: x\n`))).toEqual([expect.stringMatching(/the condition is integer, not a boolean/)]);
    expect(problems(wf(`  - when: params.mount\n    message: \${given.nope}\n`))).toEqual([expect.stringMatching(/unknown param "nope"/)]);
    expect(problems(wf(`  - when: params.mount\n    message: 'was \${given.size}'\n`))).toEqual([expect.stringMatching(/may be null/)]);
    expect(problems(wf(`  - when: params.mount\n    message: x\n`).replace('dirs: [\'/x\']', "dirs: ['${given.size}']"))).toEqual([expect.stringMatching(/given.size is known only to checks/)]);
  });
});

describe('format: dm-name', () => {
  const w = loadText(wf('  - when: params.mount\n    message: x\n', "  name:\n    type: string\n    description: n\n    default: abc\n    format: dm-name\n    pattern: '[a-z]+'\n"), 't.yaml');
  const p = w.params.find(([n]) => n === 'name')![1];
  test("device-mapper's rules and messages, before the pattern", () => {
    expect(refusal(() => parseScalarParam('name', p, 'x/y', '/'))?.message).toMatch(/--name "x\/y" has characters device-mapper would mangle/);
    expect(refusal(() => parseScalarParam('name', p, '-rf', '/'))?.message).toMatch(/--name "-rf" starts with '-'/);
    expect(refusal(() => parseScalarParam('name', p, 'ABC', '/'))?.message).toMatch(/is not accepted/);
    expect(parseScalarParam('name', p, 'abc', '/')).toBe('abc');
  });
});
