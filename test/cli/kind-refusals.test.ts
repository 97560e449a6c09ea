/**
 * Refusals that belong to a step kind (src/steps/kinds/<kind>.ts, `preflight`) run on every
 * workflow's resolved steps: a user's workflow file is refused before anything changes, with
 * the message and exit code the built-in gives. The file here is the built-in's own
 * definition under another name (flow workflows --definition), run as a file: resolved by
 * its param types, not by the built-in's preflight.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { listing, preparedSandbox, type Sandbox } from './harness.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await preparedSandbox();
});
afterEach(() => sb.cleanup());

const LINEAR_DISK = fileURLToPath(new URL('../fixtures/workflows/linear-disk.yaml', import.meta.url));
const RAM_SCRATCH = fileURLToPath(new URL('../../examples/ram-scratch.yaml', import.meta.url));

const kernel = () => openPersistedFakeKernel(sb.kernelFile, realFs);

/** delayed-device's definition, named `mine`, as a file in the sandbox. */
function mine(): string {
  const def = sb.flow(['workflows', '--definition', 'delayed-device']);
  expect(def.code).toBe(0);
  writeFileSync(join(sb.dir, 'mine.yaml'), def.stdout.replace(/^name: delayed-device$/m, 'name: mine'));
  return './mine.yaml';
}

/** The built-in and the file refuse `args` alike: exit 2, the same lines, nothing changed (no run, no file, the fake kernel's state the same). */
function refusedAlike(args: string[], problem: RegExp, hint: RegExp): void {
  const file = mine();
  const before = { files: listing(sb), kernel: readFileSync(sb.kernelFile, 'utf8') };
  const builtin = sb.flow(['run', 'delayed-device', ...args]);
  const own = sb.flow(['run', file, ...args]);
  for (const r of [builtin, own]) {
    expect(r.code, r.stderr).toBe(2);
    const [first, ...rest] = r.stderr.split('\n');
    expect(first).toMatch(problem);
    expect(rest.join('\n')).toMatch(hint);
  }
  expect(own.stderr).toBe(builtin.stderr);
  expect(sb.runs()).toEqual([]);
  expect(listing(sb)).toEqual(before.files);
  expect(readFileSync(sb.kernelFile, 'utf8')).toBe(before.kernel);
}

describe("a workflow file gets the step kinds' refusals, as the built-in", () => {
  it('dm.create: a device-mapper name another device holds', async () => {
    const k = await kernel();
    const loop = await k.loop.attach({ file: sb.extImage('foreign.img'), readOnly: true });
    await k.dm.create({ name: 'taken', uuid: 'OTHER-1', table: [`0 8192 linear ${loop.majmin} 0`] });
    refusedAlike(['--file', 'slow.img', '--size', '64M', '--name', 'taken'], /^flow: --name: a device-mapper device named taken already exists \(uuid OTHER-1\)$/, /choose another --name, or remove that device if it is yours/);
  });

  it('loop.attach: a file some loop device already uses, attached read-write', async () => {
    const img = sb.extImage('mine.img');
    const k = await kernel();
    const dev = (await k.loop.attach({ file: img, readOnly: false })).device;
    refusedAlike(['--file', 'mine.img'], new RegExp(`^flow: --file ${img} is already attached at ${dev}$`), new RegExp(`detach it first \\(losetup -d ${dev}\\)`));
  });

  /** `args` refused: exit 2, `problem` then `hint`, nothing changed. */
  function refused(args: string[], problem: RegExp, hint: RegExp): void {
    const before = { files: listing(sb), kernel: readFileSync(sb.kernelFile, 'utf8') };
    const r = sb.flow(args);
    expect(r.code, r.stderr).toBe(2);
    const [first, ...rest] = r.stderr.split('\n');
    expect(first).toMatch(problem);
    expect(rest.join('\n')).toMatch(hint);
    expect(sb.runs()).toEqual([]);
    expect(listing(sb)).toEqual(before.files);
    expect(readFileSync(sb.kernelFile, 'utf8')).toBe(before.kernel);
  }

  it('file.create: a path that exists (the run would create it and its rollback remove it)', () => {
    copyFileSync(LINEAR_DISK, join(sb.dir, 'linear-disk.yaml'));
    const there = sb.extImage('there.img');
    refused(['run', './linear-disk.yaml', '--file', there], new RegExp(`^flow: --file ${there} exists$`), /give a path that does not exist yet/);
  });

  it('zram.add: a device larger than the machine\'s memory (the fake kernel has 8 GiB)', () => {
    refused(['run', RAM_SCRATCH, '--size', '1T'], new RegExp(`^flow: --size 1T is larger than this machine's memory \\(.+\\)$`), /a zram device lives in RAM: choose a smaller size/);
  });

  it('mount: a target something is mounted on already', async () => {
    const target = join(sb.dir, 'busy');
    mkdirSync(target);
    mkdirSync(join(sb.dir, 'src'));
    const k = await kernel();
    const loop = await k.loop.attach({ file: sb.extImage('mounted.ext4'), readOnly: true });
    await k.mounts.mount({ source: loop.device, target, options: ['ro'] });
    writeFileSync(
      join(sb.dir, 'bind.yaml'),
      [
        'name: bind-it',
        'description: binds a directory somewhere',
        'params:',
        '  from:',
        '    type: path',
        '    description: the directory',
        '    required: true',
        '  to:',
        '    type: path',
        '    description: where',
        '    required: true',
        'steps:',
        '  - name: bind',
        '    kind: mount',
        '    title: bind ${params.from} on ${params.to}',
        '    with:',
        '      source: ${params.from}',
        '      target: ${params.to}',
        '      bind: true',
        '',
      ].join('\n'),
    );
    refused(['run', './bind.yaml', '--from', join(sb.dir, 'src'), '--to', target], new RegExp(`^flow: --to ${target} is already a mount point$`), new RegExp(`choose another directory \\(see findmnt ${target}\\)`));
  });
});
