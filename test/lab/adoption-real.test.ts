/**
 * Files and directories flow did not make are never adopted, on the real kernel with real
 * SIGKILLs (lab only: scripts/lab run -q -- npx vitest run --project lab
 * test/lab/adoption-real.test.ts). flow is killed (FLOW_CRASH_AT) at a point of its
 * create-file / make-mountpoint step or of their undo where the step's path is free;
 * another process then makes a file of the run's size (its own bytes) or an empty
 * directory there; `flow resume` and `flow rollback` follow. The foreign object survives
 * byte for byte, no recovery stops for an operator, and the host's devices are as before.
 */
import { mkdirSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { sha256 } from './real-host.js';

requireLab();

const t = labCase();
const SIZE = 64 * 1024 * 1024;

interface Planted {
  path: string;
  /** what must be there, byte for byte, at the end */
  check(): Promise<void>;
}

/** Starts a delayed-device run that creates its file and is SIGKILLed at `point`; returns the run id. */
function killedRun(point: string, file: string): string {
  const r = t.sb.flow(['run', 'delayed-device', '--file', file, '--size', '64M', '--delay', '0'], { FLOW_CRASH_AT: point });
  expect(r.signal, `${r.stdout}\n${r.stderr}`).toBe('SIGKILL');
  expect(r.stderr).toContain(`crash-kill ${point} `);
  const list = JSON.parse(t.sb.flow(['list', '--json']).stdout) as { id: string; status: string }[];
  const id = list.at(-1)!.id;
  t.track(id);
  return id;
}

/** Like killedRun, but for the rollback of a finished run. */
function killedRollback(point: string, file: string): string {
  const id = t.sb.run('delayed-device', ['--file', file, '--size', '64M', '--delay', '0']).id;
  const r = t.sb.flow(['rollback', id], { FLOW_CRASH_AT: point });
  expect(r.signal, `${r.stdout}\n${r.stderr}`).toBe('SIGKILL');
  expect(r.stderr).toContain(`crash-kill ${point} `);
  return id;
}

async function foreignFile(path: string): Promise<Planted> {
  const bytes = Buffer.from('made by another process; flow must not touch this\n');
  writeFileSync(path, bytes, { flag: 'wx' });
  truncateSync(path, SIZE); // the run's size: what the old probe took for its own file
  const sum = await sha256(path);
  t.undo(() => rmSync(path, { force: true }));
  return {
    path,
    async check() {
      expect(statSync(path).size).toBe(SIZE);
      expect(await sha256(path)).toBe(sum);
    },
  };
}

function foreignDir(path: string): Planted {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  t.undo(() => rmSync(path, { recursive: true, force: true }));
  return {
    path,
    async check() {
      expect(statSync(path).isDirectory()).toBe(true);
      expect(readdirSync(path)).toEqual([]);
    },
  };
}

/** resume (when asked) then rollback: neither stops for an operator; the foreign object survives. */
async function recover(id: string, planted: Planted, how: 'resume' | 'rollback'): Promise<void> {
  if (how === 'resume') {
    const r = t.sb.flow(['resume', id]);
    // the foreign object is in the run's way: its step fails and the run rolls back (exit 1); or it was not in the way (exit 0)
    expect([0, 1], `${r.stdout}\n${r.stderr}`).toContain(r.code);
    expect(r.stderr).not.toMatch(/needs an operator|flow resolve/);
    await planted.check();
  }
  const r = t.sb.flow(['rollback', id]);
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
  await planted.check();
  t.untrack(id);
  expect(JSON.parse(t.sb.flow(['list', '--json']).stdout).find((x: { id: string }) => x.id === id).status).toBe('rolled-back');
}

const HOWS = ['resume', 'rollback'] as const;

describe('a foreign file at the path of create-file, after a SIGKILL', () => {
  for (const point of ['apply:create-file:before-intent', 'apply:create-file:intent-synced']) {
    for (const how of HOWS) {
      it(`killed at ${point}, file planted, then ${how}: the file survives byte for byte`, async () => {
        const file = join(t.sb.dir, 'slow.img');
        const id = killedRun(point, file);
        await recover(id, await foreignFile(file), how);
      });
    }
  }

  it('killed at undo:create-file:command-done (flow removed its file), file planted, then rollback: it survives', async () => {
    const file = join(t.sb.dir, 'slow.img');
    const id = killedRollback('undo:create-file:command-done', file);
    await recover(id, await foreignFile(file), 'rollback');
  });
});

describe('a foreign empty directory at the mount point of make-mountpoint, after a SIGKILL', () => {
  for (const point of ['apply:make-mountpoint:before-intent', 'apply:make-mountpoint:intent-synced']) {
    for (const how of HOWS) {
      it(`killed at ${point}, directory planted, then ${how}: it survives`, async () => {
        const id = killedRun(point, join(t.sb.dir, 'slow.img'));
        await recover(id, foreignDir(join(t.sb.runDir, id, 'mnt')), how);
      });
    }
  }

  it('killed at undo:make-mountpoint:command-done (flow removed its directories), directory planted, then rollback: it survives', async () => {
    const id = killedRollback('undo:make-mountpoint:command-done', join(t.sb.dir, 'slow.img'));
    await recover(id, foreignDir(join(t.sb.runDir, id, 'mnt')), 'rollback');
  });
});
