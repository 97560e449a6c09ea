/**
 * Workflows as data, through the CLI on the fake kernel: a workflow file that is none of
 * the built-ins runs from its path; its journal carries the definition, so after the file
 * is deleted a killed run resumes and a finished one rolls back exactly. A built-in changed
 * after a run started (simulated by a file in the administrators' directory that shadows
 * it) changes new runs only: the old run resumes and rolls back with what it recorded.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { eventsOf } from '../support/journal-files.js';
import { runId, Sandbox } from './harness.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/workflows/linear-disk.yaml', import.meta.url));
let sb: Sandbox;
afterEach(() => sb?.cleanup());

function firstEvent(s: Sandbox, id: string): Record<string, any> {
  return eventsOf(readFileSync(join(s.stateDir, 'runs', `${id}.json`)), id)[0]!;
}

function expectClean(s: Sandbox): void {
  expect(s.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
  expect(existsSync(join(s.dir, 'disk.img'))).toBe(false);
  expect(existsSync(s.runDir) ? readdirSync(s.runDir) : []).toEqual([]);
}

describe('a workflow file that is none of the built-ins', () => {
  it('runs from its path and records its definition, source and sha256', () => {
    sb = new Sandbox();
    copyFileSync(FIXTURE, join(sb.dir, 'linear-disk.yaml'));
    const r = sb.flow(['run', './linear-disk.yaml', '--file', 'disk.img', '--size', '16M']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = runId(r);
    expect(r.stdout).toContain(`run ${id}: done`);
    expect(r.stdout).toMatch(new RegExp(`device +/dev/mapper/disk-${id}`));
    expect(sb.kernel().dm.map((d) => d.name)).toEqual([`disk-${id}`]);
    const first = firstEvent(sb, id);
    expect(first.workflow).toBe('linear-disk');
    expect(first.definition.source).toEqual({ kind: 'file', path: join(sb.dir, 'linear-disk.yaml') });
    expect(first.definition.sha256).toBe(createHash('sha256').update(JSON.stringify(first.definition.workflow)).digest('hex'));
    expect(first.definition.workflow.steps.map((s: { name: string }) => s.name)).toEqual(['create-file', 'make-filesystem', 'attach-file', 'create-linear', 'make-mountpoint', 'mount']);
  });

  it('killed mid-step, its file deleted: flow resume finishes exactly, then flow rollback undoes it', () => {
    sb = new Sandbox();
    copyFileSync(FIXTURE, join(sb.dir, 'linear-disk.yaml'));
    const r = sb.flow(['run', './linear-disk.yaml', '--file', 'disk.img'], { FLOW_CRASH_AT: 'apply:create-linear:command-done' });
    expect(r.signal).toBe('SIGKILL');
    const id = JSON.parse(sb.flow(['list', '--json']).stdout)[0].id as string;
    rmSync(join(sb.dir, 'linear-disk.yaml'));
    const show = sb.flow(['show', id]);
    expect(show.code).toBe(0);
    const res = sb.flow(['resume', id]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`run ${id}: done`);
    expect(res.stdout).toMatch(new RegExp(`mountpoint +${sb.runDir}/${id}/mnt`));
    expect(sb.kernel().mounts.map((m) => m.target)).toEqual([`${sb.runDir}/${id}/mnt`]);
    expect(sb.kernel().dm.map((d) => d.name)).toEqual([`disk-${id}`]);
    const b = sb.flow(['rollback', id]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expectClean(sb);
  });

  it('finished, its file deleted: flow rollback undoes it exactly; log and show still read it', () => {
    sb = new Sandbox();
    copyFileSync(FIXTURE, join(sb.dir, 'linear-disk.yaml'));
    const id = runId(sb.flow(['run', './linear-disk.yaml', '--file', 'disk.img']));
    rmSync(join(sb.dir, 'linear-disk.yaml'));
    const show = JSON.parse(sb.flow(['show', id, '--json']).stdout);
    expect(show).toMatchObject({ status: 'done', outputs: { device: `/dev/mapper/disk-${id}` } });
    expect(sb.flow(['log', id]).code).toBe(0);
    const b = sb.flow(['rollback', id]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain(`run ${id}: rolled-back`);
    expectClean(sb);
  });

  it('an edited file changes new runs only: the old run resumes with the steps it recorded', () => {
    sb = new Sandbox();
    const file = join(sb.dir, 'linear-disk.yaml');
    copyFileSync(FIXTURE, file);
    const r = sb.flow(['run', './linear-disk.yaml', '--file', 'disk.img'], { FLOW_CRASH_AT: 'apply:attach-file:intent-synced' });
    expect(r.signal).toBe('SIGKILL');
    const id = JSON.parse(sb.flow(['list', '--json']).stdout)[0].id as string;
    // the edit: another device name and no mount
    const text = readFileSync(FIXTURE, 'utf8');
    writeFileSync(file, text.replace(/disk-\$\{run\.id\}/g, 'edited-${run.id}').replace(/\n  - name: make-mountpoint[\s\S]*?(?=\noutputs:)/, '\n').replace(/\n  mountpoint: \$\{steps\.mount\.target\}/, ''));
    expect(sb.flow(['check', './linear-disk.yaml']).code).toBe(0);
    const res = sb.flow(['resume', id]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(sb.kernel().dm.map((d) => d.name)).toEqual([`disk-${id}`]);
    expect(sb.kernel().mounts).toHaveLength(1);
    expect(sb.flow(['rollback', id]).code).toBe(0);
    expectClean(sb);
  });
});

describe('a built-in changed after a run started (a file in the administrators’ directory shadows it)', () => {
  it('the old run resumes and rolls back with its recorded definition; new runs use the new one; flow workflows marks the shadow', () => {
    sb = new Sandbox();
    const etc = join(sb.dir, 'etc-workflows');
    mkdirSync(etc);
    const env = { FLOW_WORKFLOWS_DIR: etc };
    const r = sb.flow(['run', 'delayed-device', '--file', 'slow.img', '--size', '64M'], { ...env, FLOW_CRASH_AT: 'apply:create-delay:command-done' });
    expect(r.signal).toBe('SIGKILL');
    const id = JSON.parse(sb.flow(['list', '--json']).stdout)[0].id as string;
    expect(firstEvent(sb, id).definition.source).toEqual({ kind: 'builtin' });
    // the "upgrade": delayed-device version 2, whose steps are other (no mount, another device name)
    const old = sb.flow(['workflows', '--definition', 'delayed-device'], env).stdout;
    const changed = old
      .replace(/^version: 1$/m, 'version: 2')
      .replace('default: flow-${run.id}', 'default: v2-${run.id}')
      .replace(/\n  - name: make-mountpoint[\s\S]*?(?=\noutputs:)/, '\n')
      .replace(/\n  mountpoint: \$\{steps\.mount\.target\}/, '');
    writeFileSync(join(etc, 'delayed-device.yaml'), changed);
    expect(sb.flow(['check', join(etc, 'delayed-device.yaml')]).code).toBe(0);
    const listed = sb.flow(['workflows'], env).stdout;
    expect(listed).toContain(`[${join(etc, 'delayed-device.yaml')} (shadows the built-in)]`);
    expect(listed).toMatch(/^loop-mount .*\[built-in\]$/m);
    const w = JSON.parse(sb.flow(['workflows', '--json'], env).stdout) as { name: string; shadows: boolean; version: number }[];
    expect(w.find((x) => x.name === 'delayed-device')).toMatchObject({ shadows: true, version: 2 });

    const res = sb.flow(['resume', id], env);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(sb.kernel().dm.map((d) => d.name)).toEqual([`flow-${id}`]);
    expect(sb.kernel().mounts).toHaveLength(1);

    const n = sb.flow(['run', 'delayed-device', '--file', 'new.img', '--size', '64M'], env);
    expect(n.stderr).toBe('');
    expect(n.code).toBe(0);
    const nid = runId(n);
    expect(firstEvent(sb, nid).definition.source).toEqual({ kind: 'etc', path: join(etc, 'delayed-device.yaml') });
    expect(firstEvent(sb, nid).workflowVersion).toBe(2);
    expect(sb.kernel().dm.map((d) => d.name).sort()).toEqual([`flow-${id}`, `v2-${nid}`].sort());
    expect(sb.kernel().mounts).toHaveLength(1);

    for (const x of [id, nid]) expect(sb.flow(['rollback', x], env).code).toBe(0);
    expect(sb.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
    expect(existsSync(join(sb.dir, 'slow.img'))).toBe(false);
    expect(existsSync(join(sb.dir, 'new.img'))).toBe(false);
  });
});

describe('flow plan on a host without device-mapper', () => {
  it('shows the plan and says once what this host could not run', async () => {
    sb = new Sandbox();
    const { openPersistedFakeKernel } = await import('../../src/kernel/fake/persisted.js');
    const { realFs } = await import('../../src/fs/real.js');
    const k = await openPersistedFakeKernel(sb.kernelFile, realFs);
    await k.injectFault({ op: 'dm.list', code: 'ENOTSUP', times: 100, message: 'device-mapper is not available' });
    await k.injectFault({ op: 'dm.info', code: 'ENOTSUP', times: 100, message: 'device-mapper is not available' });
    const p = sb.flow(['plan', 'delayed-device', '--file', 'slow.img', '--size', '64M']);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('dmsetup create');
    const lines = p.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^flow: this host could not run this plan: device-mapper: .*not available/);
    expect(p.stderr.match(/could not run/g)).toHaveLength(1);
    expect(sb.runs()).toEqual([]);
  });
});
