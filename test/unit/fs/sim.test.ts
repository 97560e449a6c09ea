import { describe, expect, it } from 'vitest';
import { SimFs } from '../../../src/fs/sim.js';
import { hasCode } from '../../../src/fs/types.js';

const text = (s: string) => Buffer.from(s);

async function writeFile(fs: SimFs, path: string, data: string, opts: { sync?: boolean; mode?: 'create-exclusive' | 'write' } = {}) {
  const h = await fs.open(path, { mode: opts.mode ?? 'create-exclusive' });
  await h.write(text(data), 0);
  if (opts.sync) await h.sync();
  await h.close();
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

describe('SimFs power cut', () => {
  it.each([
    { name: 'written, not synced, dir not synced', sync: false, dirSync: false, expected: undefined },
    { name: 'written, synced, dir not synced', sync: true, dirSync: false, expected: undefined },
    { name: 'written, not synced, dir synced → empty file', sync: false, dirSync: true, expected: '' },
    { name: 'written, synced, dir synced → survives', sync: true, dirSync: true, expected: 'hello' },
  ])('$name', async ({ sync, dirSync, expected }) => {
    const fs = new SimFs();
    fs.putDir('/d');
    await writeFile(fs, '/d/f', 'hello', { sync });
    if (dirSync) await fs.syncDir('/d');
    expect((await fs.readFile('/d/f')).toString()).toBe('hello');
    fs.powerCut();
    if (expected === undefined) expect(await codeOf(fs.stat('/d/f'))).toBe('ENOENT');
    else expect((await fs.readFile('/d/f')).toString()).toBe(expected);
  });

  it('a rename without syncDir comes back as the old name; the target keeps its old content', async () => {
    const fs = new SimFs();
    fs.putFile('/d/target', text('old'));
    await writeFile(fs, '/d/tmp', 'new', { sync: true });
    await fs.syncDir('/d');
    await fs.rename('/d/tmp', '/d/target');
    expect((await fs.readFile('/d/target')).toString()).toBe('new');
    fs.powerCut();
    expect((await fs.readFile('/d/target')).toString()).toBe('old');
    expect((await fs.readFile('/d/tmp')).toString()).toBe('new');
  });

  it('temp + fsync + rename + syncDir survives', async () => {
    const fs = new SimFs();
    fs.putFile('/d/target', text('old'));
    await writeFile(fs, '/d/tmp', 'new', { sync: true });
    await fs.rename('/d/tmp', '/d/target');
    await fs.syncDir('/d');
    fs.powerCut();
    expect(await fs.readdir('/d')).toEqual(['target']);
    expect((await fs.readFile('/d/target')).toString()).toBe('new');
  });

  it('unsynced appends after a sync are lost, the synced prefix stays', async () => {
    const fs = new SimFs();
    fs.putFile('/log', new Uint8Array());
    const h = await fs.open('/log', { mode: 'write' });
    await h.write(text('one\n'), 0);
    await h.sync();
    await h.write(text('two\n'), 4);
    fs.powerCut();
    expect((await fs.readFile('/log')).toString()).toBe('one\n');
    expect(await codeOf(h.write(text('x'), 0))).toBe('EBADF');
  });

  it('unlink and mkdir/rmdir revert without syncDir', async () => {
    const fs = new SimFs();
    fs.putFile('/a/f', text('x'));
    fs.putDir('/a/gone');
    await fs.unlink('/a/f');
    await fs.rmdir('/a/gone');
    await fs.mkdir('/a/new', 0o700);
    fs.powerCut();
    expect(await fs.readdir('/a')).toEqual(['f', 'gone']);
  });

  it('a 1 GiB sparse file costs nothing and reads zeros', async () => {
    const fs = new SimFs();
    const h = await fs.open('/big', { mode: 'create-exclusive' });
    await h.truncate(1 << 30);
    await h.write(text('end'), (1 << 30) - 3);
    expect((await h.stat()).size).toBe(1 << 30);
    expect([...(await h.read(4, 4096))]).toEqual([0, 0, 0, 0]);
    expect((await h.read(10, (1 << 30) - 3)).toString()).toBe('end');
  });

  it('clone branches independently; durableTree predicts powerCut', async () => {
    const fs = new SimFs();
    fs.putFile('/d/a', text('a'));
    await writeFile(fs, '/d/b', 'b');
    const predicted = fs.durableTree();
    const branch = fs.clone();
    branch.powerCut();
    expect(branch.snapshotTree()).toEqual(predicted);
    expect(Object.keys(fs.snapshotTree())).toEqual(['/d', '/d/a', '/d/b']);
    expect(Object.keys(predicted)).toEqual(['/d', '/d/a']);
  });
});

describe('SimFs POSIX behaviour', () => {
  it('symlinks: stat follows, lstat does not, noFollow gives ELOOP, realpath resolves', async () => {
    const fs = new SimFs();
    fs.putFile('/real/f', text('data'), { mode: 0o640 });
    fs.symlink('/real', '/link');
    fs.symlink('f', '/real/lf');
    expect((await fs.stat('/link/lf')).kind).toBe('file');
    expect((await fs.lstat('/real/lf')).kind).toBe('symlink');
    expect(await fs.realpath('/link/lf')).toBe('/real/f');
    expect(await codeOf(fs.open('/real/lf', { mode: 'read', noFollow: true }))).toBe('ELOOP');
    expect(await codeOf(fs.readFile('/real/lf', { noFollow: true }))).toBe('ELOOP');
    expect((await fs.readFile('/link/lf')).toString()).toBe('data');
    expect(await codeOf(fs.open('/real/lf', { mode: 'create-exclusive' }))).toBe('EEXIST');
    const st = await fs.stat('/real/f');
    expect(st).toMatchObject({ kind: 'file', dev: '8:1', mode: 0o640, uid: 0, size: 4 });
  });

  it.each([
    ['open missing', (fs: SimFs) => fs.open('/nope', { mode: 'read' }), 'ENOENT'],
    ['create in missing dir', (fs: SimFs) => fs.open('/nope/x', { mode: 'create-exclusive' }), 'ENOENT'],
    ['create existing', (fs: SimFs) => fs.open('/d/f', { mode: 'create-exclusive' }), 'EEXIST'],
    ['open a directory', (fs: SimFs) => fs.open('/d', { mode: 'write' }), 'EISDIR'],
    ['mkdir existing', (fs: SimFs) => fs.mkdir('/d', 0o755), 'EEXIST'],
    ['rmdir non-empty', (fs: SimFs) => fs.rmdir('/d'), 'ENOTEMPTY'],
    ['rmdir a file', (fs: SimFs) => fs.rmdir('/d/f'), 'ENOTDIR'],
    ['unlink a directory', (fs: SimFs) => fs.unlink('/d'), 'EISDIR'],
    ['path through a file', (fs: SimFs) => fs.stat('/d/f/x'), 'ENOTDIR'],
    ['rename dir into itself', (fs: SimFs) => fs.rename('/d', '/d/sub'), 'EINVAL'],
    ['rename file over dir', (fs: SimFs) => fs.rename('/d/f', '/e'), 'EISDIR'],
    ['readdir a file', (fs: SimFs) => fs.readdir('/d/f'), 'ENOTDIR'],
    ['syncDir a file', (fs: SimFs) => fs.syncDir('/d/f'), 'ENOTDIR'],
  ])('%s → %s', async (_name, op, code) => {
    const fs = new SimFs();
    fs.putFile('/d/f', text('x'));
    fs.putDir('/e');
    expect(await codeOf(op(fs))).toBe(code);
  });

  it('a read handle cannot write; a closed handle is EBADF', async () => {
    const fs = new SimFs();
    fs.putFile('/f', text('x'));
    const h = await fs.open('/f', { mode: 'read' });
    expect(await codeOf(h.write(text('y'), 0))).toBe('EBADF');
    await h.close();
    expect(await codeOf(h.read(1, 0))).toBe('EBADF');
  });

  it('create-exclusive uses perm, chmod changes it, unsynced chmod reverts', async () => {
    const fs = new SimFs();
    const h = await fs.open('/f', { mode: 'create-exclusive', perm: 0o640 });
    await h.sync();
    await fs.syncDir('/');
    expect((await fs.stat('/f')).mode).toBe(0o640);
    await fs.chmod('/f', 0o600);
    expect((await fs.stat('/f')).mode).toBe(0o600);
    fs.powerCut();
    expect((await fs.stat('/f')).mode).toBe(0o640);
  });
});

describe('SimFs faults', () => {
  it.each([
    { op: 'write' as const, run: (fs: SimFs) => writeFile(fs, '/s/old', 'y', { mode: 'write' }), code: 'ENOSPC' },
    { op: 'sync' as const, run: (fs: SimFs) => writeFile(fs, '/s/old', 'x', { mode: 'write', sync: true }), code: 'EIO' },
    { op: 'syncDir' as const, run: (fs: SimFs) => fs.syncDir('/s'), code: 'EIO' },
    { op: 'rename' as const, run: (fs: SimFs) => fs.rename('/s/old', '/s/new'), code: 'EIO' },
    { op: 'open' as const, run: (fs: SimFs) => fs.open('/s/old', { mode: 'read' }), code: 'EIO' },
    { op: 'mkdir' as const, run: (fs: SimFs) => fs.mkdir('/s/dir', 0o700), code: 'ENOSPC' },
  ])('$op fails with $code and has no effect', async ({ op, run, code }) => {
    const fs = new SimFs();
    fs.putFile('/s/old', text('x'));
    const before = fs.snapshotTree();
    fs.injectFault({ op, pathPrefix: '/s', code, times: 1 });
    const err = await run(fs).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(hasCode(err, code)).toBe(true);
    expect(fs.snapshotTree()).toEqual(before);
    if (op === 'sync') expect(fs.durableTree()).toEqual(before);
    await run(fs); // times: 1 → the second call succeeds
  });

  it('a failed fsync leaves the data not durable', async () => {
    const fs = new SimFs();
    fs.putDir('/s');
    fs.injectFault({ op: 'sync', code: 'EIO' });
    await expect(writeFile(fs, '/s/f', 'data', { sync: true })).rejects.toMatchObject({ code: 'EIO' });
    await fs.syncDir('/s');
    fs.powerCut();
    expect((await fs.stat('/s/f')).size).toBe(0);
  });

  it('pathPrefix and after select which calls fail', async () => {
    const fs = new SimFs();
    fs.putDir('/a');
    fs.putDir('/b');
    fs.injectFault({ op: 'mkdir', pathPrefix: '/b', code: 'EIO', after: 1 });
    await fs.mkdir('/a/1', 0o700);
    await fs.mkdir('/b/1', 0o700);
    expect(await codeOf(fs.mkdir('/b/2', 0o700))).toBe('EIO');
    expect(await codeOf(fs.mkdir('/b/3', 0o700))).toBe('EIO');
    fs.clearFaults();
    await fs.mkdir('/b/4', 0o700);
  });
});
