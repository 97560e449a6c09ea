/** `flow run --key KEY`: idempotent invocation for configuration management. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { runId, Sandbox } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
  sb.file('d.img', 64 << 20);
});
afterEach(() => sb.cleanup());

const RUN = (key: string, ...more: string[]) => ['run', 'delayed-device', '--key', key, '--file', 'd.img', '--no-mount', ...more];

const runJson = z.object({
  id: z.string().regex(/^[2-9a-hjkmnp-z]{8}$/),
  workflow: z.string(),
  status: z.string(),
  outputs: z.record(z.string(), z.string()),
  steps: z.array(z.object({ name: z.string(), kind: z.string(), title: z.string(), status: z.string() })),
});
const listJson = z.array(z.object({ id: z.string(), workflow: z.string(), status: z.string(), key: z.string().optional() }));

const list = () => listJson.parse(JSON.parse(sb.flow(['list', '--json']).stdout));
const doc = (id: string) => readFileSync(join(sb.stateDir, 'runs', `${id}.json`), 'utf8');
const kernelText = () => readFileSync(sb.kernelFile, 'utf8');

describe('flow run --key', () => {
  it('a done run with the key is printed like a finished run, exit 0, nothing changed', () => {
    const first = sb.flow(RUN('web-1'));
    expect(first.code).toBe(0);
    const id = runId(first);
    const [journal, kernel, files] = [doc(id), kernelText(), sb.runs()];

    const again = sb.flow(RUN('web-1'));
    expect(again.code).toBe(0);
    expect(runId(again)).toBe(id);
    expect(again.stdout).toContain(`run ${id}: done`);
    expect(again.stdout).toContain(`device      /dev/mapper/flow-${id}`);
    expect(again.stderr).toContain(`run ${id} with --key "web-1" is already done; nothing changed`);
    const json = runJson.parse(JSON.parse(sb.flow(RUN('web-1', '--json')).stdout));
    expect(json).toMatchObject({ id, status: 'done', outputs: { device: `/dev/mapper/flow-${id}` } });
    // the key may also come before the workflow name
    expect(runId(sb.flow(['run', '--key', 'web-1', 'delayed-device', '--file', 'd.img', '--no-mount']))).toBe(id);

    expect(doc(id)).toBe(journal);
    expect(kernelText()).toBe(kernel);
    expect(sb.runs()).toEqual(files);
    expect(list()).toEqual([expect.objectContaining({ id, status: 'done', key: 'web-1' })]);
  });

  it('a done run with the key whose devices a reboot took is resumed: its devices rebuilt, changed true', async () => {
    const id = runId(sb.flow(RUN('web-1')));
    const before = sb.kernel().dm.length;
    expect(before).toBe(1);
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).reboot();
    expect(sb.kernel().dm).toHaveLength(0);
    const r = sb.flow(RUN('web-1', '--json'));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`run ${id} with --key "web-1" is done, but the host rebooted since: resuming it`);
    expect(JSON.parse(r.stdout)).toMatchObject({ id, status: 'done', changed: true });
    expect(sb.kernel().dm).toHaveLength(1);
    // and once rebuilt, the next invocation changes nothing
    const again = sb.flow(RUN('web-1', '--json'));
    expect(JSON.parse(again.stdout)).toMatchObject({ id, status: 'done', changed: false });
    expect(again.stderr).toContain('is already done; nothing changed');
  });

  it('a done run with the key whose steps are all durable (a file) is left as it is after a reboot: nothing changed', async () => {
    const wf = join(sb.dir, 'only-file.yaml');
    writeFileSync(wf, ['name: only-file', 'version: 1', 'description: one file', 'params:', '  file:', '    type: file', '    description: the file', '    required: true',
      'steps:', '  - name: create-file', '    kind: file.create', '    title: create it', '    with:', '      path: ${params.file.path}', '      size: 4096', ''].join('\n'));
    const target = join(sb.dir, 'made.bin');
    const id = runId(sb.flow(['run', wf, '--key', 'f-1', '--file', target]));
    const journal = doc(id);
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).reboot();
    const r = sb.flow(['run', wf, '--key', 'f-1', '--file', target, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ id, status: 'done', changed: false });
    expect(r.stderr).toContain(`run ${id} with --key "f-1" is already done; nothing changed`);
    expect(doc(id)).toBe(journal);
  });

  it('a workflow file with the key before it (flow run --key KEY FILE, as flow-run@.service runs it) or after it', () => {
    const file = fileURLToPath(new URL('../../examples/ram-scratch.yaml', import.meta.url));
    const first = sb.flow(['run', '--key', 'scratch', file, '--size', '16M']);
    expect(first.code, first.stderr).toBe(0);
    const id = runId(first);
    for (const argv of [
      ['run', '--key=scratch', file, '--size', '16M'],
      ['run', file, '--key', 'scratch', '--size', '16M'],
    ]) {
      const again = sb.flow(argv);
      expect(again.code, again.stderr).toBe(0);
      expect(runId(again)).toBe(id);
      expect(again.stderr).toContain(`run ${id} with --key "scratch" is already done; nothing changed`);
    }
    expect(list()).toEqual([expect.objectContaining({ id, workflow: 'ram-scratch', status: 'done', key: 'scratch' })]);
  });

  it('an unfinished run with the key is resumed', () => {
    const crashed = sb.flow(RUN('web-1'), { FLOW_CRASH_AT: 'apply:create-delay:command-done' });
    expect(crashed.signal).toBe('SIGKILL');
    const id = runId(crashed);
    expect(list()[0]).toMatchObject({ id, status: 'running' });
    const r = sb.flow(RUN('web-1'));
    expect(r.code).toBe(0);
    expect(runId(r)).toBe(id);
    expect(r.stderr).toContain(`run ${id} with --key "web-1" is running: resuming it`);
    expect(r.stdout).toMatch(/probed\s+create-delay\s+applied/);
    expect(r.stdout).toContain(`run ${id}: done`);
    expect(list()).toEqual([expect.objectContaining({ id, status: 'done', key: 'web-1' })]);
    expect(sb.kernel().dm).toHaveLength(1);
  });

  it('after the run with the key was rolled back, a new one starts with the key', () => {
    const id = runId(sb.flow(RUN('web-1')));
    expect(sb.flow(['rollback', id]).code).toBe(0);
    const r = sb.flow(RUN('web-1', '--json'));
    expect(r.code).toBe(0);
    const out = runJson.parse(JSON.parse(r.stdout));
    expect(out.id).not.toBe(id);
    expect(out.status).toBe('done');
    expect(list()).toEqual([
      expect.objectContaining({ id, status: 'rolled-back', key: 'web-1' }),
      expect.objectContaining({ id: out.id, status: 'done', key: 'web-1' }),
    ]);
    // other keys are other runs
    sb.file('e.img', 64 << 20);
    const r2 = sb.flow(['run', 'delayed-device', '--key', 'web-2', '--file', 'e.img', '--no-mount']);
    expect(r2.code).toBe(0);
    expect(runId(r2)).not.toBe(out.id);
    expect(sb.kernel().dm).toHaveLength(2);
  });

  it('two concurrent invocations with the same key: one runs, the other exits 4', async () => {
    // the first holds the key at a point it reports, stopped there while the second runs
    const first = sb.spawnPaused(RUN('web-1'), 'apply:attach-file:command-done', 5_000);
    await first.reached;
    first.child.kill('SIGSTOP');
    let second;
    try {
      second = sb.flow(RUN('web-1'));
    } finally {
      first.child.kill('SIGCONT');
    }
    const closed = first.closed;
    const out = () => first.io.out;
    expect(second.code).toBe(4);
    expect(second.stderr).toContain('another flow process is running with --key "web-1"');
    expect(second.stderr).toContain('run the same command again');
    expect(second.stdout).toBe('');
    expect(await closed).toBe(0);
    const id = out().split('\n')[0]!;
    expect(list()).toEqual([expect.objectContaining({ id, status: 'done', key: 'web-1' })]);
    // once the first finished, the same command finds its run
    expect(runId(sb.flow(RUN('web-1')))).toBe(id);
  });

  it('a key that belongs to a run of another workflow is refused (exit 2)', () => {
    const id = runId(sb.flow(RUN('web-1')));
    sb.extImage();
    const r = sb.flow(['run', 'loop-mount', '--key', 'web-1', '--file', 'rootfs.ext4']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--key "web-1" belongs to run ${id} of workflow delayed-device, not loop-mount`);
    expect(sb.runs()).toHaveLength(1);
  });

  it('a run with the key that is being rolled back is not resumed (exit 2, what to do)', () => {
    const id = runId(sb.flow(RUN('web-1')));
    expect(sb.flow(['rollback', id], { FLOW_CRASH_AT: 'undo:create-delay:command-done' }).signal).toBe('SIGKILL');
    const r = sb.flow(RUN('web-1'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`run ${id} with --key "web-1" is being rolled back`);
    expect(r.stderr).toContain(`flow rollback ${id}`);
    expect(sb.flow(['rollback', id]).code).toBe(0);
    expect(runId(sb.flow(RUN('web-1')))).not.toBe(id);
  });

  it.each([
    ['empty', '', /--key must be 1 to 200 characters \(got 0\)/],
    ['too long', 'k'.repeat(201), /--key must be 1 to 200 characters \(got 201\)/],
    ['a tab', 'a\tb', /contains a control or non-printable character/],
    ['an escape', 'a\u001b[31mb', /contains a control or non-printable character/],
    ['a line separator', 'a\u2028b', /contains a control or non-printable character/],
  ])('a key with %s: exit 2, nothing recorded', (_what, key, message) => {
    const r = sb.flow(RUN(key));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('e.g. --key ci-image-42');
    expect(sb.runs()).toEqual([]);
    expect(sb.kernel().loops).toEqual([]);
  });

  it('accepts 200 printable characters, spaces and non-ASCII', () => {
    const key = `déploiement 42 ${'é'.repeat(185)}`;
    expect([...key]).toHaveLength(200);
    const r = sb.flow(RUN(key));
    expect(r.code).toBe(0);
    expect(list()[0]).toMatchObject({ key });
    expect(runId(sb.flow(RUN(key)))).toBe(runId(r));
  });

  it('--help shows --key with an example', () => {
    const r = sb.flow(['run', 'delayed-device', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--key <KEY>');
    expect(r.stdout).toContain('flow run delayed-device --key ci-42');
  });
});
