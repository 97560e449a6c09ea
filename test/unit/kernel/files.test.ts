import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { realFs } from '../../../src/fs/real.js';
import { SimFs } from '../../../src/fs/sim.js';
import type { Fs } from '../../../src/fs/types.js';
import { createBackingFile, fileIdentity, makeDirs, removeOwnedDirs, removeOwnedFile } from '../../../src/kernel/files.js';
import { failure } from './fixture.js';

interface Env {
  fs: Fs;
  dir: string;
  symlink(target: string, path: string): Promise<void>;
  done(): Promise<void>;
}

const envs: [string, () => Promise<Env>][] = [
  [
    'SimFs',
    async () => {
      const fs = new SimFs();
      fs.putDir('/w');
      return { fs, dir: '/w', symlink: async (t, p) => fs.symlink(t, p), done: async () => undefined };
    },
  ],
  [
    'realFs',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'flow-files-'));
      const { symlink } = await import('node:fs/promises');
      return { fs: realFs, dir, symlink: (t, p) => symlink(t, p), done: () => rm(dir, { recursive: true, force: true }) };
    },
  ],
];

describe.each(envs)('files over %s', (_name, make) => {
  let env: Env;
  afterEach(async () => env.done());

  it('createBackingFile: sparse file of the size, mode 0600, identity recorded; EEXIST after', async () => {
    env = await make();
    const path = join(env.dir, 'b.img');
    const id = await createBackingFile(env.fs, path, 1 << 30);
    expect(await fileIdentity(env.fs, path)).toEqual({ ...id, kind: 'file', size: 1 << 30 });
    expect((await env.fs.stat(path)).mode).toBe(0o600);
    expect((await failure(createBackingFile(env.fs, path, 10))).code).toBe('EEXIST');
  });

  it('createBackingFile refuses a symlink at the name (EEXIST), never writing through it', async () => {
    env = await make();
    await env.symlink(join(env.dir, 'victim'), join(env.dir, 'link'));
    expect((await failure(createBackingFile(env.fs, join(env.dir, 'link'), 10))).code).toBe('EEXIST');
    expect(await fileIdentity(env.fs, join(env.dir, 'victim'))).toBeNull();
  });

  it('removeOwnedFile: removes ours, absent is fine, refuses another file with the same name', async () => {
    env = await make();
    const path = join(env.dir, 'f.img');
    const id = await createBackingFile(env.fs, path, 4096);
    expect(await removeOwnedFile(env.fs, path, id)).toBe('removed');
    expect(await removeOwnedFile(env.fs, path, id)).toBe('absent');
    const ours = await createBackingFile(env.fs, path, 4096);
    await env.fs.rename(path, join(env.dir, 'moved')); // ours lives on elsewhere, so its inode is not reused
    await createBackingFile(env.fs, path, 4096);
    const err = await failure(removeOwnedFile(env.fs, path, ours));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(/not ours/);
    expect(await fileIdentity(env.fs, path)).not.toBeNull();
  });

  it('removeOwnedFile refuses a symlink even when it points at our file', async () => {
    env = await make();
    const path = join(env.dir, 'f.img');
    const id = await createBackingFile(env.fs, path, 1);
    await env.symlink(path, join(env.dir, 'alias'));
    expect((await failure(removeOwnedFile(env.fs, join(env.dir, 'alias'), id))).code).toBe('EINVAL');
    expect(await fileIdentity(env.fs, path)).toMatchObject(id);
  });

  it('makeDirs creates missing directories in order and keeps existing ones; removeOwnedDirs undoes them', async () => {
    env = await make();
    const dirs = [join(env.dir, 'a'), join(env.dir, 'a/b'), join(env.dir, 'a/b/c')];
    await env.fs.mkdir(dirs[0]!, 0o755);
    expect(await makeDirs(env.fs, dirs, 0o700)).toEqual(dirs.slice(1));
    expect((await env.fs.stat(dirs[2]!)).mode).toBe(0o700);
    expect(await makeDirs(env.fs, dirs, 0o700)).toEqual([]);
    expect(await removeOwnedDirs(env.fs, dirs.slice(1))).toEqual([dirs[2], dirs[1]]);
    expect(await removeOwnedDirs(env.fs, dirs.slice(1))).toEqual([]);
    expect(await fileIdentity(env.fs, dirs[0]!)).toMatchObject({ kind: 'dir' });
  });

  it('makeDirs refuses a file in the way; removeOwnedDirs refuses a non-empty directory with EBUSY', async () => {
    env = await make();
    await createBackingFile(env.fs, join(env.dir, 'file'), 1);
    expect((await failure(makeDirs(env.fs, [join(env.dir, 'file')], 0o755))).code).toBe('EEXIST');
    const d = join(env.dir, 'd');
    await makeDirs(env.fs, [d], 0o755);
    await createBackingFile(env.fs, join(d, 'x'), 1);
    const err = await failure(removeOwnedDirs(env.fs, [d]));
    expect(err.code).toBe('EBUSY');
    expect(err.message).toMatch(/not empty/);
  });
});

describe('files durability (SimFs power cut)', () => {
  it.each([
    ['createBackingFile', async (fs: SimFs) => void (await createBackingFile(fs, '/w/f', 8192)), { '/w': { kind: 'dir', mode: 0o755 }, '/w/f': expect.objectContaining({ kind: 'file', size: 8192 }) }],
    ['makeDirs', async (fs: SimFs) => void (await makeDirs(fs, ['/w/a', '/w/a/b'], 0o700)), { '/w': { kind: 'dir', mode: 0o755 }, '/w/a': { kind: 'dir', mode: 0o700 }, '/w/a/b': { kind: 'dir', mode: 0o700 } }],
  ])('%s survives a power cut', async (_name, run, expected) => {
    const fs = new SimFs();
    fs.putDir('/w');
    await run(fs);
    fs.powerCut();
    expect(fs.snapshotTree()).toEqual(expected);
  });

  it('a removal survives a power cut, including one whose directory fsync an earlier attempt missed', async () => {
    const fs = new SimFs();
    fs.putDir('/w');
    const id = await createBackingFile(fs, '/w/f', 1);
    await fs.unlink('/w/f'); // an interrupted earlier attempt: unlinked, not yet durable
    expect(await removeOwnedFile(fs, '/w/f', id)).toBe('absent');
    fs.powerCut();
    expect(fs.snapshotTree()).toEqual({ '/w': { kind: 'dir', mode: 0o755 } });
  });

  it('createBackingFile that fails after creating the file leaves nothing behind', async () => {
    const fs = new SimFs();
    fs.putDir('/w');
    fs.injectFault({ op: 'truncate', code: 'ENOSPC', times: 1 });
    expect((await failure(createBackingFile(fs, '/w/f', 1 << 20))).code).toBe('ENOSPC');
    expect(await fs.readdir('/w')).toEqual([]);
  });
});
