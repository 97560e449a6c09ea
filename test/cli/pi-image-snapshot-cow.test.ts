/**
 * snapshot-image --cow-file (issue 11 §2, shared with pi-image) on the fake kernel: the COW
 * in a sparse file behind a loop device as a persistent snapshot (created by the run,
 * removed by its rollback), an existing file refused unless --reuse-cow (then kept), and
 * filesystems with 1 KiB blocks: refused with a zram COW (naming --cow-file), accepted
 * with a file.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runId, Sandbox, sandboxPerTest } from './harness.js';

const sandbox = sandboxPerTest();

const empty = (sb: Sandbox) => {
  const k = sb.kernel();
  return [k.loops, k.dm, k.zram, k.mounts];
};

describe('snapshot-image --cow-file', () => {
  test('the COW is a new sparse file on a loop device, the snapshot persistent; rollback removes the file', () => {
    const sb = sandbox();
    const img = sb.piImage('pi.img');
    const cow = join(sb.dir, 'changes.cow');
    const r = sb.flow(['run', 'snapshot-image', '--image', img, '--cow-file', cow, '--cow-size', '8M', '--size', '96M', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.steps.map((s: { name: string }) => s.name)).toEqual(['attach-image', 'read-partition-table', 'create-base', 'create-cow-file', 'attach-cow', 'create-snapshot', 'make-mountpoint', 'mount', 'grow-filesystem']);
    const attach = j.steps.find((s: { name: string }) => s.name === 'attach-cow');
    expect(j.outputs.cow).toBe(attach.outputs.device);
    expect(statSync(cow).size).toBe(8 << 20);
    expect(sb.kernel().zram).toEqual([]);
    const snap = sb.kernel().dm.find((d) => d.name === `flow-${j.id}`) as unknown as { live: { type: string; args: string[] }[] };
    // snapshot ORIGIN COW P CHUNK: the COW is the loop device over the file, the snapshot persistent
    expect(snap.live).toMatchObject([{ type: 'snapshot', args: [expect.any(String), attach.outputs.majmin, 'P', '16'] }]);
    // flow show draws it from the steps' kinds, as any workflow's: the image's stack, and the COW file's (file → loop), the snapshot naming its COW device
    const show = sb.flow(['show', j.id, '--json']);
    expect(show.code).toBe(0);
    type Node = { role: string; step?: string; segments?: { cow?: string }[]; children: Node[] };
    const flat = (n: Node): string[] => [`${n.role}:${n.step ?? ''}`, ...n.children.flatMap(flat)];
    const trees = JSON.parse(show.stdout).trees as Node[];
    expect(trees.map(flat)).toEqual([
      ['image:', 'loop:attach-image', 'base:create-base', 'snapshot:create-snapshot', 'mountpoint:mount'],
      ['file:create-cow-file', 'loop:attach-cow'],
    ]);
    expect(trees[0]!.children[0]!.children[0]!.children[0]!.segments?.[0]?.cow).toBe(attach.outputs.device);
    expect(sb.flow(['show', j.id]).stdout).toContain(`snapshot of /dev/mapper/flow-${j.id}-base, COW ${attach.outputs.device}, persistent, chunk 16 sectors`);
    expect(sb.flow(['rollback', j.id]).code).toBe(0);
    expect(existsSync(cow)).toBe(false);
    expect(empty(sb)).toEqual([[], [], [], []]);
  });

  test('a filesystem with 1 KiB blocks: refused with a zram COW (naming --cow-file), mounted with a file', () => {
    const sb = sandbox();
    const img = sb.piImage('small.img', 1024);
    const refused = sb.flow(['run', 'snapshot-image', '--image', img]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/1024-byte blocks, smaller than the zram COW's 4096-byte/);
    expect(refused.stderr).toMatch(/--cow-file PATH \(a file-backed COW has 512-byte sectors\)/);
    expect(sb.runs()).toEqual([]);
    const r = sb.flow(['run', 'snapshot-image', '--image', img, '--cow-file', join(sb.dir, 's.cow'), '--cow-size', '8M', '--size', '96M']);
    expect(r.code, r.stderr).toBe(0);
    expect(sb.kernel().mounts).toHaveLength(1);
    expect(sb.flow(['rollback', runId(r)]).code).toBe(0);
  });

  test('an existing --cow-file is refused before anything changes; --reuse-cow uses it and its rollback keeps it', () => {
    const sb = sandbox();
    const img = sb.piImage('pi.img');
    const cow = sb.file('old.cow', 8 << 20);
    const args = ['run', 'snapshot-image', '--image', img, '--cow-file', cow, '--size', '96M'];
    const refused = sb.flow([...args, '--cow-size', '8M']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--cow-file .*old\.cow exists/);
    expect(refused.stderr).toMatch(/--reuse-cow/);
    expect(sb.runs()).toEqual([]);
    expect(empty(sb)).toEqual([[], [], [], []]);
    const wrong = sb.flow([...args, '--cow-size', '16M', '--reuse-cow']);
    expect(wrong.stderr).toMatch(/has 8388608 bytes, not the 16777216 of --cow-size/);
    const r = sb.flow([...args, '--cow-size', '8M', '--reuse-cow', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).steps.map((s: { name: string }) => s.name)).not.toContain('create-cow-file');
    expect(sb.flow(['rollback', JSON.parse(r.stdout).id]).code).toBe(0);
    expect(statSync(cow).size).toBe(8 << 20);
  });
});
