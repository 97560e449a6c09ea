/** The built CLI end to end, as a user runs it, against a persisted fake kernel. */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runId, Sandbox } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

describe('flow run snapshot-image', () => {
  it('prints the id first, a line per step, the outputs; rollback leaves nothing', () => {
    const img = sb.piImage();
    const before = readFileSync(img);
    const r = sb.flow(['run', 'snapshot-image', '--image', img, '--size', '128M', '--cow-size', '16M']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const id = runId(r);
    expect(id).toMatch(/^[2-9a-hjkmnp-z]{8}$/);
    for (const step of ['attach-image', 'read-partition-table', 'create-base', 'add-cow', 'create-snapshot', 'make-mountpoint', 'mount', 'grow-filesystem']) {
      expect(r.stdout).toMatch(new RegExp(`done\\s+${step}`));
    }
    expect(r.stdout).toContain(`device      /dev/mapper/flow-${id}`);
    expect(r.stdout).toContain(`mountpoint  ${sb.runDir}/${id}/mnt`);
    const k = sb.kernel();
    expect(k.dm.map((d) => d.name).sort()).toEqual([`flow-${id}`, `flow-${id}-base`]);
    expect(k.mounts.map((m) => m.target)).toEqual([`${sb.runDir}/${id}/mnt`]);

    const back = sb.flow(['rollback', id]);
    expect(back.code).toBe(0);
    expect(back.stdout).toContain(`run ${id}: rolled-back`);
    expect(sb.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
    expect(readFileSync(img).equals(before)).toBe(true);
    // rolling back again is a no-op
    expect(sb.flow(['rollback', id]).code).toBe(0);
  });

  it('--json prints one object with id, workflow, status, outputs and steps', () => {
    const img = sb.piImage();
    const r = sb.flow(['run', 'snapshot-image', '--image', img, '--size', '128M', '--cow-size', '16M', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ workflow: 'snapshot-image', status: 'done', outputs: { device: `/dev/mapper/flow-${out.id}`, mountpoint: `${sb.runDir}/${out.id}/mnt` } });
    expect(out.steps).toHaveLength(8);
    expect(out.steps.every((s: { status: string }) => s.status === 'applied')).toBe(true);
    sb.flow(['rollback', out.id]);
  });
});

describe('flow run delayed-device and loop-mount', () => {
  it('delayed-device creates, formats, attaches, delays and mounts -o sync; rollback removes the file it created', () => {
    const r = sb.flow(['run', 'delayed-device', '--file', 'slow.img', '--size', '64M', '--read-delay', '10', '--write-delay', '200', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const k = JSON.parse(readFileSync(sb.kernelFile, 'utf8'));
    expect(k.mounts[0].options).toContain('sync');
    // the table itself (the UUID, FLOW-<id>-create-delay, says "delay" whatever the table is)
    expect(k.dm).toHaveLength(1);
    expect(k.dm[0]).toMatchObject({ name: `flow-${out.id}`, uuid: `FLOW-${out.id}-create-delay` });
    expect(k.dm[0].live).toEqual([{ start: 0, length: 131072, type: 'delay', args: ['7:0', '0', '10', '7:0', '0', '200'] }]);
    expect(k.loops[0]).toMatchObject({ n: 0, backingFile: `${sb.dir}/slow.img` });
    expect(sb.flow(['rollback', out.id]).code).toBe(0);
    expect(() => readFileSync(`${sb.dir}/slow.img`)).toThrow(/ENOENT/);
  });

  it('delayed-device never removes a file it did not create', () => {
    sb.extImage('mine.img');
    const r = sb.flow(['run', 'delayed-device', '--file', 'mine.img', '--delay', '0', '--json']);
    expect(r.code).toBe(0);
    expect(sb.flow(['rollback', JSON.parse(r.stdout).id]).code).toBe(0);
    expect(readFileSync(`${sb.dir}/mine.img`).length).toBe(32 << 20);
  });

  it('loop-mount --read-only mounts ro and rolls back', () => {
    sb.extImage();
    const r = sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only', '--mountpoint', 'mnt']);
    expect(r.code).toBe(0);
    expect(sb.kernel().mounts[0]).toMatchObject({ target: `${sb.dir}/mnt` });
    expect(sb.flow(['rollback', runId(r)]).code).toBe(0);
    expect(sb.kernel().mounts).toEqual([]);
  });
});

describe('list, show, log, workflows', () => {
  it('list --json shows runs oldest first with id, workflow, status, created', () => {
    sb.extImage();
    const a = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
    const b = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
    sb.flow(['rollback', a]);
    const list = JSON.parse(sb.flow(['list', '--json']).stdout);
    expect(list.map((r: { id: string }) => r.id)).toEqual([a, b]);
    expect(list[0]).toMatchObject({ id: a, workflow: 'loop-mount', status: 'rolled-back' });
    expect(list[1]).toMatchObject({ id: b, status: 'done' });
    expect(list[1].created).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(sb.flow(['list']).stdout).toContain(`${b}  loop-mount       done`);
    sb.flow(['rollback', b]);
  });

  it('show --json has params, steps and the live state of each device', () => {
    sb.extImage();
    const id = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4']));
    const show = JSON.parse(sb.flow(['show', id, '--json']).stdout);
    expect(show).toMatchObject({ id, status: 'done', params: { 'read-only': false }, live: { 'attach-file': 'present', mount: 'present' } });
    expect(show.steps.map((s: { name: string }) => s.name)).toEqual(['attach-file', 'make-mountpoint', 'mount']);
    const log = JSON.parse(sb.flow(['log', id, '--json']).stdout);
    expect(log[0]).toMatchObject({ seq: 0, type: 'RunStarted', workflow: 'loop-mount', format: 2 });
    expect(log.at(-1)).toMatchObject({ type: 'RunFinished' });
    expect(sb.flow(['log', id]).stdout.split('\n')[0]).toMatch(/^\s+0\s+\S+\s+RunStarted/);
    sb.flow(['rollback', id]);
    expect(JSON.parse(sb.flow(['show', id, '--json']).stdout).live).toMatchObject({ 'attach-file': 'missing', mount: 'missing' });
  });

  it('workflows --json lists the built-in workflows with options and defaults', () => {
    const w = JSON.parse(sb.flow(['workflows', '--json']).stdout);
    expect(w.map((x: { name: string }) => x.name)).toEqual(['snapshot-image', 'pi-image', 'delayed-device', 'loop-mount']);
    expect(w[0].options).toContainEqual(expect.objectContaining({ flag: '--cow-size', default: '512M' }));
  });
});
