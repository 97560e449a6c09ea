/**
 * A workflow that is none of the built-ins (test/fixtures/workflows/linear-disk.yaml: a
 * new file → loop → dm linear → ext4 → mount) runs end to end on the real kernel from its
 * file in a temp directory. Killed (SIGKILL, FLOW_CRASH_AT through the test entry) inside
 * its dm step and the file deleted, `flow resume` finishes exactly from the journal alone;
 * another run, killed the same way with its file deleted, `flow rollback` undoes exactly.
 */
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { dmTable, lastJson, majmin, mountOf, sh } from './real-host.js';

requireLab();

const FIXTURE = fileURLToPath(new URL('../fixtures/workflows/linear-disk.yaml', import.meta.url));
const t = labCase();

/** The workflow file copied into the sandbox; `flow run ./linear-disk.yaml` reads it. */
function workflowFile(): string {
  const p = join(t.sb.dir, 'linear-disk.yaml');
  copyFileSync(FIXTURE, p);
  return p;
}

/** Starts a run killed at `point`; returns its id (tracked: the cleanup rolls it back). */
function killedRun(disk: string, point: string): string {
  const r = t.sb.flow(['run', './linear-disk.yaml', '--file', disk, '--size', '16M'], { FLOW_CRASH_AT: point });
  expect(r.signal, r.stderr).toBe('SIGKILL');
  const listed = JSON.parse(t.sb.flow(['list', '--json']).stdout) as { id: string; workflow: string }[];
  expect(listed.map((x) => x.workflow)).toEqual(['linear-disk']);
  const id = listed[0]!.id;
  t.track(id);
  return id;
}

describe('a user workflow file on the real kernel', () => {
  it('runs end to end from its file: the device stack is what the file says; rollback leaves nothing', () => {
    workflowFile();
    const disk = join(t.sb.dir, 'disk.img');
    const r = t.run('./linear-disk.yaml', ['--file', disk, '--size', '16M']);
    expect(r.status).toBe('done');
    const loop = r.steps.find((s) => s.name === 'attach-file')!.outputs!.device as string;
    expect(r.outputs.device).toBe(`/dev/mapper/disk-${r.id}`);
    expect(dmTable(`disk-${r.id}`)).toEqual([`0 32768 linear ${majmin(loop)} 0`]);
    expect(mountOf(r.outputs.mountpoint!)).toMatchObject({ majmin: majmin(r.outputs.device!), fstype: 'ext4' });
    t.rollback(r.id);
    expect(existsSync(disk)).toBe(false);
  });

  it('killed inside its dm step, the file deleted: flow resume finishes exactly', () => {
    const file = workflowFile();
    const disk = join(t.sb.dir, 'disk.img');
    const id = killedRun(disk, 'apply:create-linear:command-done');
    rmSync(file);
    const res = t.sb.flow(['resume', id, '--json']);
    expect(res.code, res.stderr).toBe(0);
    const j = lastJson(res);
    expect(j.status).toBe('done');
    expect(dmTable(`disk-${id}`)).toEqual([`0 32768 linear ${majmin(j.steps.find((s) => s.name === 'attach-file')!.outputs!.device as string)} 0`]);
    expect(mountOf(j.outputs.mountpoint!)).toMatchObject({ majmin: majmin(j.outputs.device!), fstype: 'ext4' });
    expect(sh(['losetup', '-j', disk]).stdout.split('\n').filter(Boolean)).toHaveLength(1);
    t.rollback(id);
  });

  it('another run killed the same way, the file deleted: flow rollback undoes exactly', () => {
    const file = workflowFile();
    const disk = join(t.sb.dir, 'disk.img');
    const id = killedRun(disk, 'apply:create-linear:command-done');
    rmSync(file);
    t.rollback(id);
    expect(existsSync(disk)).toBe(false);
  });
});
