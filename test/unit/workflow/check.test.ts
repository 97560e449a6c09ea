/**
 * `flow check`'s messages: each problem at line:column, what is wrong, and the fix.
 * Every case is a small valid workflow with one thing broken.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { WorkflowFileError } from '../../../src/errors.js';
import { checkText, loadText } from '../../../src/workflow/load.js';

const VALID = `name: demo
description: a loop device over a file, mounted
params:
  file:
    type: existing-file
    description: the image
    required: true
  mountpoint:
    type: directory
    description: where to mount it
    default: \${run.dir}/\${run.id}/mnt
  mount:
    type: boolean
    default: true
    description: attach only
steps:
  - name: attach
    kind: loop.attach
    title: attach \${params.file.path}
    with:
      file: \${params.file.path}
      identity: \${params.file.identity}
      readOnly: false
      offset: 0
      sizeLimit: 0
  - name: mount
    kind: mount
    title: mount
    when: params.mount
    with:
      source: \${steps.attach.node}
      majmin: \${steps.attach.majmin}
      target: \${params.mountpoint.path}
      options: []
outputs:
  loop: \${steps.attach.device}
  mountpoint: \${steps.mount.target}
`;

/** VALID with one line replaced (1-based), or lines inserted after it. */
function edit(line: number, replacement: string, insert = false): string {
  const lines = VALID.split('\n');
  lines.splice(line - 1, insert ? 0 : 1, ...replacement.split('\n'));
  return lines.join('\n');
}

function problems(text: string) {
  return checkText(text, 'demo.yaml').problems.map((p) => ({ at: `${p.pos.line}:${p.pos.col}`, message: p.message, fix: p.fix }));
}

describe('flow check', () => {
  test('the base case is valid', () => {
    expect(problems(VALID)).toEqual([]);
  });

  test.each(['delayed-device', 'loop-mount', 'snapshot-image'])('machines/%s.yaml is valid', (name) => {
    const text = readFileSync(new URL(`../../../machines/${name}.yaml`, import.meta.url), 'utf8');
    expect(problems(text)).toEqual([]);
  });

  test('CRLF line endings and a byte-order mark are fine', () => {
    const text = readFileSync(new URL('../../../machines/loop-mount.yaml', import.meta.url), 'utf8');
    expect(problems('\ufeff' + text.replace(/\n/g, '\r\n'))).toEqual([]);
  });

  test.each<[string, string, string, RegExp, RegExp]>([
    ['an unknown step kind', edit(18, '    kind: loop.atach'), '18:11', /unknown step kind "loop.atach"/, /use one of: file.create, fs.mkfs, loop.attach/],
    ['an unknown top-level field', edit(1, 'nmae: x\nname: demo'), '1:1', /unknown top-level field "nmae"/, /top-level fields: name/],
    ['an unknown field in a step', edit(29, '    wehn: params.mount'), '29:5', /unknown field in steps\[1\]: "wehn"/, /a step has: name, kind, title, when, with/],
    ['a missing description', edit(2, ''), '1:1', /description is missing/, /add description/],
    ['a step name that is not a name', edit(17, '  - name: Attach Me'), '17:11', /not a valid name/, /lower-case words joined by -/],
    ['an unknown param type', edit(5, '    type: fiel'), '5:11', /unknown or missing param type/, /existing-file/],
    ['a duplicate step name', edit(26, '  - name: attach'), '26:11', /step name attach is used twice/, /its own name/],
    ['an unknown argument', edit(24, '      offset: 0\n      offest: 0'), '25:7', /loop.attach has no argument "offest"/, /its arguments: file, identity/],
    ['a missing argument', edit(22, ''), '18:11', /needs the argument identity/, /add it under with:/],
    ['a record with an extra field', edit(22, '      identity: {dev: "8:1", ino: 12, mode: 0}'), '22:17', /identity is record \{dev, ino, mode\}, loop.attach needs record \{dev, ino\}/, /value of that type/],
    ['a wrongly typed argument', edit(23, '      readOnly: "yes"'), '23:17', /readOnly is string, loop.attach needs boolean/, /value of that type/],
    ['an unknown param', edit(21, '      file: ${params.fiel.path}'), '21:15', /unknown param "fiel"/, /params are: file, mountpoint, mount/],
    ['a subtraction written without spaces', edit(24, '      offset: ${params.file.size-1}'), '24:17', /params.file has no field "size-1"/, /to subtract, write spaces around -: params.file.size - 1/],
    ['a subtraction of a reference written without spaces', edit(24, '      offset: ${params.file.size-params.file.size}'), '24:17', /params.file has no field "size-params"/, /to subtract, write spaces around -: params.file.size - params/],
    ['a forward reference', edit(21, '      file: ${steps.mount.target}'), '21:15', /steps.mount is a later step \(a forward reference\)/, /reorder the steps/],
    ['a reference to its own outputs', edit(21, '      file: ${steps.attach.device}'), '21:15', /step attach refers to its own outputs/, /reorder the steps/],
    ['an unknown step', edit(31, '      source: ${steps.atach.node}'), '31:17', /unknown step "atach"/, /steps before this one: attach/],
    ['an unknown output', edit(31, '      source: ${steps.attach.nod}'), '31:17', /step attach \(loop.attach\) has no output "nod"/, /its outputs: device, node, majmin, readOnly/],
    ['a condition that is a constant', edit(29, '    when: true'), '29:11', /a condition is an expression/, /constant condition/],
    ['a condition that refers to nothing', edit(29, '    when: 1 == 1'), '29:11', /refers to nothing/, /depend on a param/],
    ['a condition that is not boolean', edit(29, '    when: params.file.size'), '29:11', /the condition is integer, not a boolean/, /compare it/],
    ['a condition on step outputs', edit(29, '    when: steps.attach.readOnly'), '29:11', /a condition cannot use outputs of steps/, /params, values and run facts/],
    ['a title on step outputs', edit(28, '    title: mount ${steps.attach.device}'), '28:20', /a title cannot use outputs of steps/, /.+/],
    ['a syntax error in an argument, at its column', edit(24, '      offset: ${1 +}'), '24:20', /unexpected "}"/, /.+/],
    ['a syntax error in a quoted argument', edit(24, '      offset: "${1 +}"'), '24:21', /unexpected "}"/, /.+/],
    ['an unknown run fact', edit(11, '    default: ${run.idd}/mnt'), '11:16', /unknown run fact "idd"/, /run.id \(the run id\)/],
    ['a default of another type', edit(11, '    default: ${params.file.size}'), '11:14', /the default is integer, not string/, /.+/],
    ['a default that uses a later param', edit(11, '    default: ${params.mount}'), '11:16', /params.mount is declared after this param/, /move this param down/],
    ['a required switch', edit(14, '    required: true'), '14:15', /a boolean \(a switch\) is never required/, /default: false/],
    ['a param with neither required nor a default', edit(7, ''), '4:3', /neither `required: true` nor a default/, /add one of them/],
    ['a bad literal default', edit(9, '    type: size').replace('default: ${run.dir}/${run.id}/mnt', 'default: 12Q'), '11:14', /bad default: --mountpoint "12Q" is not a size/, /would accept/],
    ['a pattern that backtracks', edit(9, '    type: string\n    pattern: "(a+)+"'), '10:14', /quantified group holding a quantifier/, /without nesting quantifiers/],
    ['a param name that is not a name', edit(12, '  Mount:'), '12:3', /"Mount" is not a valid name for a param/, /lower-case words joined by -/],
    ['an output name that is not a name', edit(37, '  mount point: ${steps.mount.target}'), '37:3', /"mount point" is not a valid name for an output/, /lower-case words/],
    ['a step that is not a map', edit(26, '  - 3\n  - name: mount'), '26:5', /steps\[1\] must be a map/, /.+/],
    ['an empty step list', VALID.replace(/steps:[\s\S]*outputs:/, 'steps: []\noutputs:'), '16:1', /steps is empty/, /at least one step/],
    ['an output that is not text', edit(36, '  loop: ${steps.attach.readOnly}'), '36:9', /output loop is boolean/, /string or an integer/],
  ])('%s', (_what, text, at, message, fix) => {
    const ps = problems(text);
    expect(ps.length, JSON.stringify(ps)).toBeGreaterThan(0);
    expect(ps[0]).toMatchObject({ at });
    expect(ps[0]!.message).toMatch(message);
    expect(ps[0]!.fix).toMatch(fix);
  });

  test('a reference to a step that may be skipped, and the ways to guard it', () => {
    const after = `  - name: grow
    kind: fs.grow
    title: grow
    with:
      device: \${steps.attach.node}
      target: \${steps.mount.target}`;
    const skipped = VALID.replace('outputs:', `${after}\noutputs:`);
    const ps = problems(skipped);
    expect(ps).toEqual([
      {
        at: '40:17',
        message: 'step mount may be skipped (when: params.mount), so steps.mount.target may not exist',
        fix: 'give this step the same condition, or guard the reference: `params.mount ? steps.mount.target : ...`',
      },
    ]);
    expect(problems(skipped.replace('    title: grow\n', '    title: grow\n    when: params.mount\n'))).toEqual([]);
    expect(problems(skipped.replace('    title: grow\n', '    title: grow\n    when: params.mount && params.file.size > 0\n'))).toEqual([]);
    expect(problems(skipped.replace('target: ${steps.mount.target}', `target: "\${params.mount ? steps.mount.target : '/'}"`))).toEqual([]);
    // the other branch is where it may not exist
    expect(problems(skipped.replace('target: ${steps.mount.target}', `target: "\${params.mount ? '/' : steps.mount.target}"`))[0]!.message).toMatch(/may be skipped/);
  });

  test('device-mapper tables: segments only, every field typed', () => {
    const dm = (segment: string) =>
      VALID.replace(
        'outputs:',
        `  - name: dm
    kind: dm.create
    title: dm
    with:
      name: x
      table:
${segment}
outputs:`,
      );
    expect(problems(dm('        - {target: linear, sectors: 8, device: "${steps.attach.majmin}", offset: 0}'))).toEqual([]);
    expect(problems(dm('        - {target: flakey, sectors: 8, device: "${steps.attach.majmin}", offset: 0, up: 1, down: 1, features: [drop_writes]}'))).toEqual([]);
    const cases: [string, RegExp, RegExp][] = [
      ['        - "0 8 linear 7:0 0"', /segment 1 is not a map/, /never a table line/],
      ['        - {target: lineer, sectors: 8}', /unknown target "lineer"/, /targets: linear, zero, error, delay, snapshot, snapshot-origin, flakey/],
      ['        - {target: zero}', /has no sectors/, /512-byte sectors/],
      ['        - {target: linear, sectors: 8, device: x}', /needs offset/, /add offset/],
      ['        - {target: zero, sectors: 8, device: x}', /\(zero\) has no field "device"/, /its fields: sectors, when/],
      ['        - {target: linear, sectors: "8", device: x, offset: 0}', /sectors is string, not an integer/, /.+/],
      ['        - {target: snapshot, sectors: 8, origin: a, cow: b, persistent: "P", chunk: 8}', /persistent is string, not boolean/, /.+/],
      ['        - {target: linear, sectors: 8, device: x, offset: 0, when: "1 > 0"}', /refers to nothing/, /.+/],
    ];
    for (const [segment, message, fix] of cases) {
      const ps = problems(dm(segment));
      expect(ps[0]?.message, segment).toMatch(message);
      expect(ps[0]!.fix).toMatch(fix);
      expect(ps[0]!.at).toMatch(/^4[0-9]:\d+$/);
    }
    const uuid = problems(VALID.replace('outputs:', '  - name: dm\n    kind: dm.create\n    title: dm\n    with:\n      name: x\n      uuid: FLOW-other-run\n      table: [{target: zero, sectors: 8}]\noutputs:'));
    expect(uuid[0]!.message).toBe('step dm: dm.create sets uuid itself (the run\'s ownership marker)');
  });

  test('every problem is reported, not only the first', () => {
    const ps = problems(edit(21, '      file: ${params.fiel.path}').replace('source: ${steps.attach.node}', 'source: ${steps.atach.node}'));
    expect(ps.map((p) => p.at)).toEqual(['21:15', '31:17']);
  });

  test('loadText throws a WorkflowFileError naming file:line:column and the fix', () => {
    let err: unknown;
    try {
      loadText(edit(18, '    kind: loop.atach'), 'demo.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WorkflowFileError);
    expect((err as Error).message).toBe(
      'demo.yaml: 1 problem\n  demo.yaml:18:11: steps[0].kind: unknown step kind "loop.atach"\n    fix: use one of: file.create, fs.mkfs, loop.attach, partitions.check, dm.create, zram.add, dir.make, mount, fs.grow, fs.freeze',
    );
  });
});

describe('docs/WORKFLOWS.md', () => {
  test('its example workflow passes flow check', () => {
    const doc = readFileSync(new URL('../../../docs/WORKFLOWS.md', import.meta.url), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    expect(problems(example)).toEqual([]);
  });
});

describe('damaged files never crash the checker', () => {
  /** A deterministic generator (mulberry32): the same mutations on every run. */
  function rng(seed: number) {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const CHARS = ['[', ']', '{', '}', ':', '$', '!', '&', '*', "'", '"', '-', '?', '#', '|', '>', '%', '@', '`', ' ', '\n', '${', '}}', '0', 'steps.', 'params.', '\\'];
  test.each(['delayed-device', 'loop-mount', 'snapshot-image'])('%s.yaml with 250 random damages', (name) => {
    const text = readFileSync(new URL(`../../../machines/${name}.yaml`, import.meta.url), 'utf8');
    const r = rng(name.length * 7919);
    for (let i = 0; i < 250; i++) {
      let t = text;
      for (let k = 0; k < 1 + Math.floor(r() * 3); k++) {
        const at = Math.floor(r() * t.length);
        const op = r();
        if (op < 0.4) t = t.slice(0, at) + CHARS[Math.floor(r() * CHARS.length)] + t.slice(at + 1);
        else if (op < 0.7) {
          const lines = t.split('\n');
          lines.splice(Math.floor(r() * lines.length), 1);
          t = lines.join('\n');
        } else if (op < 0.85) t = t.slice(0, at);
        else t = t.slice(0, at) + t.slice(at, at + 40) + t.slice(at);
      }
      const res = checkText(t, 'x.yaml');
      expect(res.workflow !== undefined || res.problems.length > 0).toBe(true);
      for (const p of res.problems) {
        expect(p.pos.line).toBeGreaterThanOrEqual(1);
        expect(p.pos.col).toBeGreaterThanOrEqual(1);
        expect(p.message.length).toBeGreaterThan(0);
        expect(p.fix.length).toBeGreaterThan(0);
      }
    }
  });
});
