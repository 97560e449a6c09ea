/**
 * `checks:` of a workflow file: typed by flow check, evaluated by refuseByChecks in file
 * order over params, values and `given` (the options as typed), each a UsageError with its
 * message and hint. Also `size(n)` and a string param's `format: dm-name`.
 */
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { checkText, loadText } from '../../../src/workflow/load.js';
import { parseScalarParam } from '../../../src/workflow/params.js';
import { refuseByChecks, refuseByParamChecks } from '../../../src/workflow/resolve.js';

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

describe("a param's own checks", () => {
  const params = (first: string, second: string) => `name: t
description: a test
params:
  size:
    type: size
    description: a size
    default: 1G
${first}  count:
    type: integer
    description: a count
    default: 2
${second}values:
  half: \${params.size / 2}
steps:
  - name: mk
    kind: dir.make
    title: make
    with:
      dirs: ['/x']
`;
  const own = (when: string, message = 'no') => `    checks:\n      - when: ${when}\n        message: ${message}\n`;
  const problems = (text: string) => checkText(text, 't.yaml').problems.map((p) => `${p.pos.line}:${p.pos.col} ${p.message}`);

  test('compiled with the param they belong to, before the workflow-level checks', () => {
    const w = loadText(params(own('params.size > 1073741824', "'--size \${size(params.size)} is too large'"), own('params.count > 3 && given.count != null')), 't.yaml');
    expect(w.checks.map((c) => c.param)).toEqual(['size', 'count']);
    expect(refusal(() => refuseByParamChecks(w, 'size', { size: 2 ** 31 }, RUN, {}))).toEqual({ message: '--size 2G is too large', hint: undefined });
    expect(refusal(() => refuseByParamChecks(w, 'size', { size: 2 ** 30 }, RUN, {}))).toBeNull();
    expect(refusal(() => refuseByParamChecks(w, 'count', { size: 2 ** 31, count: 4 }, RUN, { count: '4' }))).toEqual({ message: 'no', hint: undefined });
    // the workflow-level checks leave them out
    expect(refusal(() => refuseByChecks(w, { size: 2 ** 31, count: 4 }, RUN, { count: '4' }))).toBeNull();
  });

  test('flow check: a later param, a value, a step output are refused in them', () => {
    expect(problems(params(own('params.count > 3'), ''))).toEqual([expect.stringMatching(/params.count is declared after this param/)]);
    expect(problems(params(own('values.half > 3'), ''))).toEqual([expect.stringMatching(/param size's checks cannot use values/)]);
    expect(problems(params('', own('steps.mk.dirs != null')))).toEqual([expect.stringMatching(/a check cannot use outputs of steps/)]);
    expect(problems(params('', own('params.count'))).map((p) => p.replace(/^\d+:\d+ /, ''))).toEqual(['the condition is integer, not a boolean']);
  });
});

describe('a partition found through an fstab; format: path-in-image', () => {
  const file = (fstab: string, at = "    format: path-in-image\n    default: ''\n") => `name: t
description: a test
params:
  image:
    type: existing-file
    description: an image
    required: true
  root:
    type: partition
    of: image
    description: the root
  boot-at:
    type: string
    description: where
${at}  boot:
    type: partition
    of: image
    description: the boot partition
    fstab:
${fstab}steps:
  - name: mk
    kind: dir.make
    title: make \${params.boot.mounted-at} (\${params.boot.found-by})
    with:
      dirs: ['/x']
`;
  const problems = (text: string) => checkText(text, 't.yaml').problems.map((p) => p.message);

  test('flow check: `in` a partition param of the same image before it, `at` an optional path-in-image string before it', () => {
    expect(problems(file('      in: root\n      at: boot-at\n      places: [/boot/firmware, /boot]\n'))).toEqual([]);
    expect(problems(file('      in: image\n      at: boot-at\n      places: [/boot]\n'))).toEqual([expect.stringMatching(/fstab: in: image` is not a partition param of image declared before it/)]);
    expect(problems(file('      in: root\n      at: boot-at\n      places: [/boot]\n', '    default: /boot\n'))).toEqual([expect.stringMatching(/fstab: at: boot-at` is not a string param declared before it with format: path-in-image and default: ''/)]);
    expect(problems(file('      in: root\n      at: boot-at\n      places: [boot]\n'))).toEqual([expect.stringMatching(/places/)]);
    expect(problems(file('      in: root\n      at: boot-at\n      places: [/boot, /boot/../../etc]\n'))).toEqual([expect.stringMatching(/places\[1\].*no \. or \.\. component/)]);
  });

  test('path-in-image: absolute, no . or .., normalised; left out it is empty', () => {
    const w = loadText(file('      in: root\n      at: boot-at\n      places: [/boot]\n'), 't.yaml');
    const p = w.params.find(([n]) => n === 'boot-at')![1];
    expect(parseScalarParam('boot-at', p, '/boot//firmware/', '/')).toBe('/boot/firmware');
    expect(parseScalarParam('boot-at', p, '', '/')).toBe('');
    for (const bad of ['../etc', 'boot', '/boot/../etc', '/./x', '/', '/a b', '/a\nb']) {
      expect(refusal(() => parseScalarParam('boot-at', p, bad, '/'))?.message, bad).toMatch(/is not a directory inside the image/);
    }
  });
});
