/**
 * file.create and dir.make never adopt what they did not make: the proof of creation
 * (temp name + stamp, then inode + birth time) at the step level, on the simulated and on
 * the real filesystem.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CrashSignal } from '../../../journal/durability.js';
import { realFs } from '../../../src/fs/real.js';
import { SimFs } from '../../../src/fs/sim.js';
import type { Fs } from '../../../src/fs/types.js';
import { FakeKernel } from '../../../src/kernel/fake/kernel.js';
import { dirMake } from '../../../src/steps/kinds/dir-make.js';
import { fileCreate } from '../../../src/steps/kinds/file-create.js';

const SIZE = 1 << 20;
const real = mkdtempSync(join(tmpdir(), 'flow-file-create-'));
afterAll(() => rmSync(real, { recursive: true, force: true }));

function envOn(fs: Fs, midpoint: () => void = () => undefined) {
  const kernel = new FakeKernel(fs instanceof SimFs ? fs : new SimFs());
  return { kernel: Object.assign(Object.create(kernel), { fs }), midpoint };
}

const worlds: [string, () => { fs: Fs; dir: string }][] = [
  ['simulated', () => {
    const fs = new SimFs();
    fs.putDir('/d');
    return { fs, dir: '/d' };
  }],
  ['real', () => ({ fs: realFs, dir: mkdtempSync(join(real, 'w-')) })],
];

describe.each(worlds)('file.create on the %s filesystem', (_n, make) => {
  it('a file someone else made after the intent: apply fails, the probe says absent, nothing is removed', async () => {
    const { fs, dir } = make();
    const env = envOn(fs);
    const a = { path: `${dir}/slow.img`, size: SIZE };
    const marker = await fileCreate.observe!(a, env);
    const h = await fs.open(a.path, { mode: 'create-exclusive', perm: 0o644 });
    await h.truncate(SIZE); // the run's size: what the old probe took for its own file
    await h.close();
    const before = await fs.lstat(a.path);
    await expect(fileCreate.apply(a, marker, env)).rejects.toThrow(/exists: something else made it/);
    expect(await fileCreate.probe(a, marker, undefined, env)).toMatchObject({ found: 'absent' });
    await fileCreate.clean(a, marker, env);
    expect(await fs.lstat(a.path)).toMatchObject({ ino: before.ino, size: SIZE });
    expect((await fs.readdir(dir)).sort()).toEqual(['slow.img']);
  });

  it('a crash after the create, before the outcome: the stamp proves it is the run\'s', async () => {
    const { fs, dir } = make();
    const env = envOn(fs);
    const a = { path: `${dir}/slow.img`, size: SIZE };
    const marker = await fileCreate.observe!(a, env);
    const out = await fileCreate.apply(a, marker, env);
    expect(out).toMatchObject({ path: a.path, ino: (await fs.lstat(a.path)).ino });
    expect(typeof out.birth).toBe('string'); // both filesystems report a birth time
    expect(await fileCreate.probe(a, marker, undefined, env)).toEqual({ found: 'applied', outputs: out });
    expect(await fs.readdir(dir)).toEqual(['slow.img']);
  });

  it('a crash between the link and the removal of the temp name: partial, clean removes both names', async () => {
    const { fs, dir } = make();
    const env = envOn(fs, () => {
      throw new CrashSignal('apply:create-file:command-running');
    });
    const a = { path: `${dir}/slow.img`, size: SIZE };
    const marker = await fileCreate.observe!(a, env);
    await expect(fileCreate.apply(a, marker, env)).rejects.toBeInstanceOf(CrashSignal);
    expect((await fs.readdir(dir)).length).toBe(2);
    expect(await fileCreate.probe(a, marker, undefined, env)).toMatchObject({ found: 'partial' });
    await fileCreate.clean(a, marker, env);
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('after the outcome, the identity decides: another file at the path is not the run\'s', async () => {
    const { fs, dir } = make();
    const env = envOn(fs);
    const a = { path: `${dir}/slow.img`, size: SIZE };
    const out = await fileCreate.apply(a, await fileCreate.observe!(a, env), env);
    await fs.unlink(a.path);
    const h = await fs.open(a.path, { mode: 'create-exclusive', perm: 0o644 });
    await h.truncate(SIZE);
    await h.close();
    expect(await fileCreate.probe(a, {}, out, env)).toMatchObject({ found: 'absent' });
    await expect(fileCreate.undo(a, out, env)).rejects.toThrow(/not ours/);
    expect((await fs.lstat(a.path)).size).toBe(SIZE);
  });
});

describe('dir.make: a directory is the run\'s only by its stamp, or by its recorded identity', () => {
  it('a foreign empty directory at the mount point: apply fails, probe says absent, undo and clean leave it', async () => {
    const fs = new SimFs();
    fs.putDir('/run');
    const env = envOn(fs);
    const a = { dirs: ['/run/x', '/run/x/mnt'] };
    const marker = await dirMake.observe!(a, env);
    fs.putDir('/run/x/mnt', { mode: 0o755 });
    await expect(dirMake.apply(a, marker, env)).rejects.toThrow(/\/run\/x\/mnt exists: something else made it/);
    expect(await dirMake.probe(a, marker, undefined, env)).toMatchObject({ found: 'absent' });
    await dirMake.clean(a, marker, env);
    expect(await fs.readdir('/run/x')).toEqual(['mnt']);
  });

  it('a directory caught between its mkdir and its stamp (mode 01700): flow cannot tell and asks the operator', async () => {
    const fs = new SimFs();
    fs.putDir('/run');
    const env = envOn(fs);
    const a = { dirs: ['/run/x'] };
    const marker = await dirMake.observe!(a, env);
    await fs.mkdir('/run/x', 0o1700);
    const r = await dirMake.probe(a, marker, undefined, env);
    expect(r).toMatchObject({ found: 'unknown' });
    expect((r as { detail: string }).detail).toContain('flow cannot tell whether it made /run/x');
    await expect(dirMake.clean(a, marker, env)).rejects.toThrow(/cannot tell/);
    expect(await fs.readdir('/run')).toEqual(['x']);
  });

  it('on the real filesystem: made, stamped, recognised after the fact; a foreign one never', async () => {
    const dir = mkdtempSync(join(real, 'dirs-'));
    const env = envOn(realFs);
    const a = { dirs: [`${dir}/x`, `${dir}/x/mnt`] };
    const marker = await dirMake.observe!(a, env);
    const out = await dirMake.apply(a, marker, env);
    expect((await realFs.lstat(`${dir}/x/mnt`)).mode).toBe(0o755);
    expect(await dirMake.probe(a, marker, undefined, env)).toEqual({ found: 'applied', outputs: out });
    await dirMake.undo(a, out, env);
    writeFileSync(join(dir, 'keep'), '');
    const again = await dirMake.observe!(a, env);
    await realFs.mkdir(`${dir}/x`, 0o755); // someone else's, after the intent
    expect(await dirMake.probe(a, again, undefined, env)).toMatchObject({ found: 'absent' });
    await dirMake.undo(a, out, env); // the recorded identity is not this directory's
    expect((await realFs.readdir(dir)).sort()).toEqual(['keep', 'x']);
  });

  it('on the real filesystem: the mount point with a filesystem mounted on it is still the run\'s (applied); rmdir of it is refused while mounted', async () => {
    const dir = mkdtempSync(join(real, 'covered-'));
    const env = envOn(realFs);
    const a = { dirs: [`${dir}/x`, `${dir}/x/mnt`] };
    const marker = await dirMake.observe!(a, env);
    const out = await dirMake.apply(a, marker, env);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'flow-test-covered', `${dir}/x/mnt`]);
    try {
      // stat of the mount point answers for the mounted root, not for the directory beneath
      expect(await dirMake.probe(a, marker, out, env)).toEqual({ found: 'applied', outputs: out });
      await expect(dirMake.undo(a, out, env)).rejects.toThrow();
      expect((await realFs.lstat(`${dir}/x/mnt`)).kind).toBe('dir');
    } finally {
      execFileSync('umount', [`${dir}/x/mnt`]);
    }
    await dirMake.undo(a, out, env);
    expect(await realFs.readdir(dir)).toEqual([]);
  });
});
