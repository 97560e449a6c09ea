/** `flow resolve`: the operator's way out when flow could not settle a step (exit 3). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { runId, Sandbox } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const kernel = () => openPersistedFakeKernel(sb.kernelFile, realFs);
const resolveJson = z.object({
  id: z.string(),
  step: z.string(),
  as: z.enum(['applied', 'absent']),
  by: z.string().min(1),
  status: z.string(),
  inDoubt: z.array(z.string()),
  next: z.array(z.string()),
});
const eventsJson = z.array(z.object({ seq: z.number(), at: z.string(), type: z.string() }).passthrough());

/** A loop-mount run whose rollback is stuck at `mount` (exit 3), the mount point still held. */
async function stuckRollback() {
  sb.extImage();
  const mnt = join(sb.dir, 'mnt');
  const id = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--mountpoint', 'mnt']));
  await (await kernel()).holdMount(mnt);
  const r = sb.flow(['rollback', id]);
  expect(r.code).toBe(3);
  return { id, mnt };
}

describe('flow resolve', () => {
  it('after the operator unmounted by hand: --as absent is recorded with who; rollback then finishes, nothing left', async () => {
    const { id, mnt } = await stuckRollback();
    // what the operator does: stop what held the mount point, then umount it by hand
    const k = await kernel();
    await k.releaseMount(mnt);
    await k.mounts.umount(mnt);

    const r = sb.flow(['resolve', id, '--step', 'mount', '--as', 'absent'], { SUDO_USER: 'alice' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`run ${id}: recorded that step mount is absent (its effect is gone), resolved by alice`);
    expect(r.stdout).toContain(`next: \`flow rollback ${id}\` finishes undoing the run`);

    const log = eventsJson.parse(JSON.parse(sb.flow(['log', id, '--json']).stdout));
    expect(log.at(-1)).toMatchObject({ type: 'OperatorResolved', step: 'mount', as: 'absent', by: 'alice' });
    expect(sb.flow(['log', id]).stdout).toMatch(/OperatorResolved mount \{"as":"absent","by":"alice"\}/);

    const back = sb.flow(['rollback', id]);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain(`run ${id}: rolled-back`);
    expect(sb.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
    expect(existsSync(mnt)).toBe(false);
  });

  it('--json: one object; by defaults to this user when not under sudo', async () => {
    const { id, mnt } = await stuckRollback();
    const k = await kernel();
    await k.releaseMount(mnt);
    await k.mounts.umount(mnt);
    const r = sb.flow(['resolve', id, '--step', 'mount', '--as', 'absent', '--json']);
    expect(r.code).toBe(0);
    const out = resolveJson.parse(JSON.parse(r.stdout));
    expect(out).toEqual({ id, step: 'mount', as: 'absent', by: expect.any(String), status: 'needs-operator', inDoubt: [], next: [`flow rollback ${id}`] });
    expect(out.by).not.toBe('alice');
  });

  it('--as applied: the undo is retried by the rollback once the mount is free', async () => {
    const { id, mnt } = await stuckRollback();
    const r = sb.flow(['resolve', id, '--step', 'mount', '--as', 'applied']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('recorded that step mount is applied (its effect is in place)');
    await (await kernel()).releaseMount(mnt);
    expect(sb.flow(['rollback', id]).code).toBe(0);
    expect(sb.kernel()).toMatchObject({ loops: [], mounts: [] });
  });

  it('refuses with exit 2 and says why: run not waiting, unknown step, step not in doubt, unknown run', async () => {
    const { id } = await stuckRollback();
    const noStep = sb.flow(['resolve', id, '--step', 'nope', '--as', 'absent']);
    expect(noStep.code).toBe(2);
    expect(noStep.stderr).toContain(`run ${id} has no step "nope"`);
    expect(noStep.stderr).toContain('its steps: attach-file, make-mountpoint, mount');
    const notInDoubt = sb.flow(['resolve', id, '--step', 'attach-file', '--as', 'absent']);
    expect(notInDoubt.code).toBe(2);
    expect(notInDoubt.stderr).toContain(`step attach-file of run ${id} cannot be resolved --as absent: it is applied, not in doubt`);
    expect(notInDoubt.stderr).toContain('steps in doubt: mount');

    sb.file('d.img', 64 << 20);
    const done = runId(sb.flow(['run', 'delayed-device', '--file', 'd.img', '--no-mount']));
    const notWaiting = sb.flow(['resolve', done, '--step', 'create-delay', '--as', 'absent']);
    expect(notWaiting.code).toBe(2);
    expect(notWaiting.stderr).toContain(`run ${done} is done, not waiting for an operator`);
    expect(sb.flow(['resolve', 'zzzzzzzz', '--step', 'mount', '--as', 'absent']).code).toBe(2);
    const badAs = sb.flow(['resolve', id, '--step', 'mount', '--as', 'maybe']);
    expect(badAs.code).toBe(2);
    expect(badAs.stderr).toMatch(/Allowed choices are applied, absent/);
    expect(sb.flow(['resolve', id, '--step', 'mount']).code).toBe(2);
    // nothing was recorded by the refusals
    expect(JSON.parse(sb.flow(['log', id, '--json']).stdout).some((e: { type: string }) => e.type === 'OperatorResolved')).toBe(false);
  });

  it('--help has examples', () => {
    const h = sb.flow(['resolve', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('flow resolve k3m9x2ab --step mount --as absent');
  });
});
