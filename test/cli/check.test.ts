/** `flow check FILE` as a user runs it: valid files, every problem at file:line:column, hostile files, and no start-up cost for other commands. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { expectRefused, listing, MAIN, SHIPPED, Sandbox } from './harness.js';

const sb = new Sandbox();
afterAll(() => sb.cleanup());
const machines = fileURLToPath(new URL('../../machines/', import.meta.url));

function write(name: string, text: string): string {
  const p = join(sb.dir, name);
  writeFileSync(p, text);
  return p;
}

const BAD = `name: bad
description: two mistakes
steps:
  - name: attach
    kind: loop.atach
    title: attach
  - name: grow
    kind: fs.grow
    title: grow
    with:
      device: \${steps.atach.node}
      target: /mnt
`;

describe('flow check', () => {
  test('several problems are all listed', () => {
    write('two.yaml', BAD.replace('name: bad', 'name: Bad'));
    const r = sb.flow(['check', 'two.yaml']);
    expectRefused(r, /^flow: two\.yaml: 2 problems$/, /fix:/);
    expect(r.stderr).toMatch(/^  two\.yaml:1:7: name: "Bad" is not a valid name\n    fix: .*\n  two\.yaml:5:11: steps\[0\]\.kind: unknown step kind "loop\.atach"\n/m);
  });

  test.each([
    ['delayed-device', 'workflow delayed-device, 9 params, 6 steps, 4 outputs'],
    ['loop-mount', 'workflow loop-mount, 3 params, 3 steps, 2 outputs'],
    ['snapshot-image', 'workflow snapshot-image, 11 params, 10 steps, 5 outputs'],
    ['pi-image', 'workflow pi-image, 13 params, 16 steps, 7 outputs'],
  ])('machines/%s.yaml is valid (exit 0)', (name, summary) => {
    const file = join(machines, `${name}.yaml`);
    const r = sb.flow(['check', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${file}: ok — ${summary}\n`);
  });

  test('every problem at file:line:column with its fix (exit 2), changing nothing', () => {
    write('bad.yaml', BAD);
    const before = listing(sb);
    const r = sb.flow(['check', 'bad.yaml']);
    expectRefused(r, /^flow: bad\.yaml: 1 problem$/, /fix:/);
    expect(r.stderr).toBe(
      [
        'flow: bad.yaml: 1 problem',
        '  bad.yaml:5:11: steps[0].kind: unknown step kind "loop.atach"',
        '    fix: use one of: file.create, fs.mkfs, loop.attach, partitions.check, dm.create, zram.add, dir.make, mount, fs.grow, fs.freeze',
      ].join('\n') + '\n',
    );
    expect(listing(sb)).toEqual(before);
    expect(existsSync(sb.stateDir)).toBe(false);
  });

  test('a reference to an unknown step, once the schema is right', () => {
    write('bad2.yaml', BAD.replace('loop.atach', 'fs.grow').replace('    title: attach\n', '    title: attach\n    with: {device: /dev/x, target: /mnt}\n'));
    const r = sb.flow(['check', 'bad2.yaml']);
    expectRefused(r, /^flow: bad2\.yaml: 1 problem$/, /fix: steps before this one: attach/);
    expect(r.stderr).toContain('  bad2.yaml:12:17: unknown step "atach"\n');
  });

  test('--json', () => {
    const ok = sb.flow(['check', join(machines, 'loop-mount.yaml'), '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ file: join(machines, 'loop-mount.yaml'), ok: true, workflow: 'loop-mount', problems: [] });
    write('bad.yaml', BAD);
    const bad = sb.flow(['check', 'bad.yaml', '--json']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('');
    expect(JSON.parse(bad.stdout)).toEqual({
      file: 'bad.yaml',
      ok: false,
      problems: [{ line: 5, col: 11, message: 'steps[0].kind: unknown step kind "loop.atach"', fix: expect.stringMatching(/^use one of: /) }],
    });
  });

  const aliasBomb = ['name: &n [a, a]', ...Array.from({ length: 40 }, (_, i) => `l${i}: &l${i} [${i ? `*l${i - 1}, *l${i - 1}` : '*n, *n'}]`)].join('\n') + '\n';
  test.each<[string, () => string, RegExp, RegExp]>([
    ['an alias bomb', () => write('bomb.yaml', aliasBomb), /bomb\.yaml:\d+:\d+: the file expands to more than 20000 values/, /fewer aliases/],
    ['deep nesting', () => write('deep.yaml', 'a:\n' + '  [\n'.repeat(5000) + '  ]\n'.repeat(5000)), /deep\.yaml:\d+:\d+: nesting too deep/, /at most 32 levels/],
    ['a huge file', () => write('huge.yaml', 'a: ' + 'x'.repeat(4000) + '\n' + ('b' + 'x'.repeat(4000) + ': 1\n').repeat(300)), /huge\.yaml:1:1: the file is \d+ bytes \(at most 262144\)/, /a workflow file is small/],
    ['a custom tag', () => write('tag.yaml', 'name: !!js/function "function () { return 1 }"\n'), /tag\.yaml:1:7: YAML: Unresolved tag/, /remove the tag/],
    ['a reference cycle', () => write('cycle.yaml', 'name: &a [x, *a]\n'), /cycle\.yaml:1:14: alias \*a refers to a value that contains it/, /not part of/],
    ['a NUL byte', () => write('nul.yaml', 'name: x\u0000\n'), /nul\.yaml:1:8: the file contains a control character/, /plain text/],
  ])('refuses %s quickly (exit 2)', (_what, make, problem, fix) => {
    const file = make();
    const t0 = performance.now();
    const r = sb.flow(['check', file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(problem);
    expect(r.stderr).toMatch(fix);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });

  test.each<[string, () => string, RegExp, RegExp]>([
    ['a missing file', () => join(sb.dir, 'nope.yaml'), /nope\.yaml does not exist/, /path of a workflow file/],
    ['a directory', () => sb.dir, /is a directory/, /path of a workflow file/],
    ['a device', () => '/dev/zero', /\/dev\/zero is not a regular file/, /path of a workflow file/],
    [
      'a FIFO (never read: it would block)',
      () => {
        const p = join(sb.dir, 'fifo.yaml');
        if (!existsSync(p)) execFileSync('mkfifo', [p]);
        return p;
      },
      /fifo\.yaml is not a regular file/,
      /path of a workflow file/,
    ],
    ['invalid UTF-8', () => (writeFileSync(join(sb.dir, 'bin.yaml'), Buffer.from([0x6e, 0x3a, 0x20, 0xff, 0xfe, 0x0a])), join(sb.dir, 'bin.yaml')), /bin\.yaml: 1 problem/, /bin\.yaml:1:1: the file is not UTF-8 text\n    fix: save it as UTF-8/],
  ])('refuses %s', (_what, make, problem, hint) => {
    expectRefused(sb.flow(['check', make()]), problem, hint);
  });

  // every command folds journals, and a run's journal carries its workflow as data that the
  // checker rebuilds (src/workflow/recorded.ts): program.cjs has the checker. It also holds the
  // YAML parser (run/plan/workflows of a file read YAML), but only as modules initialised on
  // their first import (esbuild's lazy wrappers in the one-file bundle), so a command that reads
  // no workflow file never runs its code; flow check has its own chunk
  test('program.cjs holds the YAML parser only as lazily initialised modules; flow check has its own', () => {
    const chunks = join(dirname(SHIPPED), 'chunks');
    const text = readFileSync(join(chunks, 'program.cjs'), 'utf8');
    const yamlModules = [...text.matchAll(/(__commonJS|__esm)?\(?\{?"([^"]*node_modules\/yaml\/[^"]*\.js)"\(/g)];
    expect(yamlModules.length).toBeGreaterThan(0);
    for (const m of yamlModules) expect(m[1], m[2]).toBe('__commonJS');
    for (const mod of ['src/workflow/yaml.ts', 'src/workflow/source.ts']) {
      const at = text.indexOf(`"${mod}"(`);
      expect(at, mod).toBeGreaterThan(0);
      expect(text.slice(at - 7, at), mod).toBe('__esm({');
    }
    expect(readFileSync(join(chunks, 'workflow-check.js'), 'utf8')).toContain('LineCounter');
  });
});
