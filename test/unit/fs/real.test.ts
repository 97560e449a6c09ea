import { mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeDev, realFs } from '../../../src/fs/real.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flow-realfs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('realFs', () => {
  it('O_NOFOLLOW refuses a symlink at the last component (ELOOP); stat follows, lstat does not', async () => {
    await writeFile(join(dir, 'f'), 'data');
    await symlink('f', join(dir, 'l'));
    await expect(realFs.open(join(dir, 'l'), { mode: 'read', noFollow: true })).rejects.toMatchObject({ code: 'ELOOP' });
    await expect(realFs.readFile(join(dir, 'l'), { noFollow: true })).rejects.toMatchObject({ code: 'ELOOP' });
    expect((await realFs.readFile(join(dir, 'l'))).toString()).toBe('data');
    expect((await realFs.stat(join(dir, 'l'))).kind).toBe('file');
    expect((await realFs.lstat(join(dir, 'l'))).kind).toBe('symlink');
    expect(await realFs.realpath(join(dir, 'l'))).toBe(await realFs.realpath(join(dir, 'f')));
  });

  it('create-exclusive: EEXIST on an existing name (even a symlink), perm applied', async () => {
    const h = await realFs.open(join(dir, 'new'), { mode: 'create-exclusive', perm: 0o600 });
    await h.write(Buffer.from('hello world'), 0);
    await h.sync();
    expect((await h.read(5, 6)).toString()).toBe('world');
    expect((await h.stat()).size).toBe(11);
    await h.close();
    expect((await realFs.stat(join(dir, 'new'))).mode).toBe(0o600);
    await expect(realFs.open(join(dir, 'new'), { mode: 'create-exclusive' })).rejects.toMatchObject({ code: 'EEXIST' });
    await symlink('nowhere', join(dir, 'dangling'));
    await expect(realFs.open(join(dir, 'dangling'), { mode: 'create-exclusive' })).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('stat reports dev as major:minor matching st_dev, ino, modes', async () => {
    await writeFile(join(dir, 'f'), 'x');
    const st = await realFs.stat(join(dir, 'f'));
    const node = await stat(join(dir, 'f'), { bigint: true });
    expect(st.dev).toMatch(/^\d+:\d+$/);
    expect(st.dev).toBe(decodeDev(node.dev));
    expect(st.ino).toBe(Number(node.ino));
    await realFs.chmod(join(dir, 'f'), 0o640);
    expect((await realFs.stat(join(dir, 'f'))).mode).toBe(0o640);
    await realFs.mkdir(join(dir, 'sub'), 0o700);
    expect(await realFs.stat(join(dir, 'sub'))).toMatchObject({ kind: 'dir', mode: 0o700 });
  });

  /** glibc's makedev(3) */
  const makedev = (major: bigint, minor: bigint) =>
    (minor & 0xffn) | ((major & 0xfffn) << 8n) | ((minor & ~0xffn) << 12n) | ((major & ~0xfffn) << 32n);
  it.each([
    [8n, 1n],
    [7n, 0n],
    [253n, 3n],
    [259n, 65541n],
    [4097n, 1048575n],
  ])('decodeDev(makedev(%s, %s))', (major, minor) => {
    expect(decodeDev(makedev(major, minor))).toBe(`${major}:${minor}`);
  });

  it('readdir (sorted), rename, unlink, rmdir, syncDir, errors keep Node codes', async () => {
    await writeFile(join(dir, 'b'), '');
    await writeFile(join(dir, 'a'), '');
    expect(await realFs.readdir(dir)).toEqual(['a', 'b']);
    await realFs.rename(join(dir, 'a'), join(dir, 'c'));
    await realFs.unlink(join(dir, 'b'));
    await realFs.syncDir(dir);
    expect(await realFs.readdir(dir)).toEqual(['c']);
    await expect(realFs.rmdir(dir)).rejects.toMatchObject({ code: 'ENOTEMPTY' });
    await expect(realFs.syncDir(join(dir, 'c'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    await expect(realFs.open(join(dir, 'zz'), { mode: 'write' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
