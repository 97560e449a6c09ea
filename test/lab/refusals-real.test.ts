/**
 * What flow refuses, and how it fails, on the real kernel (lab only:
 * scripts/lab run -q -- npx vitest run --project lab). A refusal exits 2 with nothing
 * created; a step failing mid-run rolls back by itself; objects flow does not own (a dm
 * device, a loop device made by someone else) are never touched.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { dmTable, hostObjects, sh, sha256, TEST_ENTRY } from './real-host.js';

requireLab();

const t = labCase();

describe('snapshot-image refusals (exit 2, nothing created)', () => {
  it('refuses (exit 2, nothing created) a root filesystem with 1 KiB blocks', () => {
    const img = t.sb.piImage('pi1k.img', 128, 1024);
    const r = t.sb.flow(['run', 'snapshot-image', '--image', img.path, '--size', '256M', '--cow-size', '32M']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/1024-byte blocks/);
    expect(hostObjects()).toEqual(t.before);
    expect(t.sb.runDirEntries()).toEqual([]);
  });

  it('refuses (exit 2) a --name held by a dm device flow does not own, and leaves that device alone', () => {
    const img = t.sb.piImage('pi.img', 128);
    const name = `foreign-${process.pid}-${Date.now()}`;
    sh(['dmsetup', 'create', name, '-u', `OTHER-${name}`], { input: '0 2048 zero\n' });
    t.undo(() => void sh(['dmsetup', 'remove', '--retry', name]));
    const held = hostObjects();
    const r = t.sb.flow(['run', 'snapshot-image', '--image', img.path, '--name', name, '--size', '256M', '--cow-size', '32M']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`named ${name} already exists`);
    expect(hostObjects()).toEqual(held);
    expect(dmTable(name)).toEqual(['0 2048 zero']);
    expect(t.sb.runDirEntries()).toEqual([]);
  });

  it('refuses (exit 2) an image attached read-write elsewhere, and leaves that loop alone', () => {
    const img = t.sb.piImage('pi.img', 128);
    const dev = sh(['losetup', '--find', '--show', '--', img.path]).stdout.trim();
    t.undo(() => void sh(['losetup', '-d', dev]));
    const held = hostObjects();
    const r = t.sb.flow(['run', 'snapshot-image', '--image', img.path, '--size', '256M', '--cow-size', '32M']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`attached read-write at ${dev}`);
    expect(hostObjects()).toEqual(held);
    expect(t.sb.runDirEntries()).toEqual([]);
  });
});

describe('snapshot-image failing on the real kernel', () => {
  it('a --name taken by someone else after the preflight: create-snapshot fails (exit 1), automatic rollback, the foreign device untouched', async () => {
    const img = t.sb.piImage('pi.img', 128);
    const sum = await sha256(img.path);
    const name = `race-${process.pid}-${Date.now()}`;
    // flow is held before the snapshot step; meanwhile another tool takes the name, then flow goes on
    const gate = join(t.sb.dir, 'release-create-snapshot');
    const child = spawn(process.execPath, [TEST_ENTRY, 'run', 'snapshot-image', '--image', img.path, '--name', name, '--size', '256M', '--cow-size', '32M'], {
      cwd: t.sb.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, FLOW_STATE_DIR: t.sb.stateDir, FLOW_RUN_DIR: t.sb.runDir, FLOW_PAUSE_AT: 'apply:create-snapshot:before-intent:600000', FLOW_PAUSE_RELEASE: gate },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!/^crash-paused apply:create-snapshot:before-intent$/m.test(stderr)) {
      if (child.exitCode !== null) throw new Error(`flow ended early:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    sh(['dmsetup', 'create', name, '-u', `OTHER-${name}`], { input: '0 2048 zero\n' });
    t.undo(() => void sh(['dmsetup', 'remove', '--retry', name]));
    writeFileSync(gate, '');
    expect(await exited, `${stdout}\n${stderr}`).toBe(1);
    expect(stdout).toMatch(/FAILED\s+create-snapshot/);
    expect(stdout).toMatch(/rolling back \(step-failed\)/);
    expect(stderr).toContain('create-snapshot');
    // exactly what was there before, plus the foreign device
    expect(hostObjects()).toEqual({ ...t.before, dm: [...t.before.dm, `${name};OTHER-${name}`].sort() });
    expect(dmTable(name)).toEqual(['0 2048 zero']);
    expect(t.sb.runDirEntries()).toEqual([]);
    expect(await sha256(img.path)).toBe(sum);
  });
});

