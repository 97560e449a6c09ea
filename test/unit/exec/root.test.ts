/** flow exec's view of a root: paths resolved as inside the chroot (a table over a fake tree), and what it reads of a real directory. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecRefusedError } from '../../../src/errors.js';
import { BIND_TARGETS, execBindsWorkflow, EXEC_BINDS_YAML } from '../../../src/exec/binds-workflow.js';
import { inspectRoot } from '../../../src/exec/root.js';
import { resolveInRoot, type Entry } from '../../../src/exec/resolve-in-root.js';

/** A tree under /r: paths to entries (everything else missing). */
function tree(entries: Record<string, Entry>) {
  return async (p: string): Promise<Entry> => entries[p] ?? { kind: 'missing' };
}
const dir: Entry = { kind: 'dir' };
const file: Entry = { kind: 'file' };
const link = (target: string): Entry => ({ kind: 'symlink', target });

describe('resolveInRoot: links followed as the chrooted program sees them', () => {
  const base = { '/r/bin': dir, '/r/usr': dir, '/r/usr/bin': dir, '/r/usr/bin/dash': file, '/r/etc': dir };
  it.each<[string, Record<string, Entry>, string, string | RegExp]>([
    ['a plain file', { ...base, '/r/bin/sh': file }, '/bin/sh', '/r/bin/sh'],
    ['a relative link', { ...base, '/r/bin/sh': link('../usr/bin/dash') }, '/bin/sh', '/r/usr/bin/dash'],
    ['an absolute link starts at the root, never the host', { ...base, '/r/bin/sh': link('/usr/bin/dash') }, '/bin/sh', '/r/usr/bin/dash'],
    ['merged /usr: /bin -> usr/bin', { ...base, '/r/bin': link('usr/bin'), '/r/usr/bin/sh': link('dash') }, '/bin/sh', '/r/usr/bin/dash'],
    ['.. stops at the root', { ...base, '/r/bin/sh': link('../../../../usr/bin/dash') }, '/bin/sh', '/r/usr/bin/dash'],
    ['a link out of the image by .. stays in it', { ...base, '/r/etc/resolv.conf': link('../../../etc/hosts') }, '/etc/resolv.conf', '/r/etc/hosts'],
    ['a dangling link: missing', { ...base, '/r/etc/resolv.conf': link('../run/systemd/resolve/stub-resolv.conf') }, '/etc/resolv.conf', '/r/run/systemd/resolve/stub-resolv.conf'],
    ['a loop', { ...base, '/r/bin/sh': link('/bin/sh') }, '/bin/sh', /too many levels of symbolic links/],
    ['a file as a directory', { ...base, '/r/bin/sh': file }, '/bin/sh/x', /\/bin\/sh is not a directory/],
  ])('%s', async (_n, entries, p, want) => {
    const r = await resolveInRoot('/r', p, tree(entries));
    if (typeof want === 'string') expect('hostPath' in r ? r.hostPath : r.error).toBe(want);
    else expect('error' in r ? r.error : r.hostPath).toMatch(want);
  });
});

describe('inspectRoot on a real directory', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'flow-exec-root-'));
    for (const d of ['dev', 'proc', 'sys', 'etc', 'bin', 'usr/bin']) mkdirSync(join(root, d), { recursive: true });
    const head = Buffer.alloc(64);
    head.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    head.writeUInt16LE(183, 18);
    writeFileSync(join(root, 'usr/bin/dash'), head);
    symlinkSync('/usr/bin/dash', join(root, 'bin/sh'));
    writeFileSync(join(root, 'etc/resolv.conf'), 'nameserver 192.0.2.1\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("reads the image's own /bin/sh through its absolute link (aarch64 here), and binds resolv.conf onto a regular file", async () => {
    const f = await inspectRoot(root, 'true', undefined, '/proc/self/status');
    expect(f.probe).toMatchObject({ path: '/bin/sh', elf: { machine: 'aarch64' } });
    expect(f.resolvConf).toBe(true);
    expect(f.resolvNote).toBeUndefined();
  });

  it('the command itself, when absolute and ELF, is what is probed', async () => {
    const x86 = Buffer.alloc(64);
    x86.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    x86.writeUInt16LE(62, 18);
    writeFileSync(join(root, 'usr/bin/prog'), x86);
    expect((await inspectRoot(root, '/usr/bin/prog', undefined, '/proc/self/status')).probe).toMatchObject({ path: '/usr/bin/prog', elf: { machine: 'x86_64' } });
  });

  it.each([
    ['a link', () => (rmSync(join(root, 'etc/resolv.conf')), symlinkSync('../run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf'))), /is a symbolic link \(to \.\.\/run\/systemd\/resolve\/stub-resolv.conf\)/],
    ['missing', () => rmSync(join(root, 'etc/resolv.conf')), /is missing/],
    ['a directory', () => (rmSync(join(root, 'etc/resolv.conf')), mkdirSync(join(root, 'etc/resolv.conf'))), /is a directory: the host's resolver configuration is not bound/],
  ])("the image's /etc/resolv.conf is %s: not bound, and said why", async (_n, make, note) => {
    make();
    const f = await inspectRoot(root, 'true', undefined, '/proc/self/status');
    expect(f.resolvConf).toBe(false);
    expect(f.resolvNote).toMatch(note);
  });

  it('the host has no resolver file: not bound, and said why', async () => {
    const f = await inspectRoot(root, 'true', undefined, join(root, 'no-such-file'));
    expect(f.resolvConf).toBe(false);
    expect(f.resolvNote).toMatch(/this host has no .*no-such-file/);
  });

  it.each([
    ['missing', () => rmSync(join(root, 'proc'), { recursive: true }), /\/proc is missing/],
    ['a link to the host', () => (rmSync(join(root, 'sys'), { recursive: true }), symlinkSync('/sys', join(root, 'sys'))), /\/sys is a symbolic link \(to \/sys\)/],
    ['a file', () => (rmSync(join(root, 'dev'), { recursive: true }), writeFileSync(join(root, 'dev'), '')), /\/dev is a file/],
  ])('a bind target that is %s: refused', async (_n, make, msg) => {
    make();
    await expect(inspectRoot(root, 'true')).rejects.toThrow(ExecRefusedError);
    await expect(inspectRoot(root, 'true')).rejects.toThrow(msg);
  });

  it('no ELF program to tell the architecture: no probe', async () => {
    rmSync(join(root, 'usr/bin/dash'));
    writeFileSync(join(root, 'usr/bin/dash'), '#!/bin/nothing\n');
    expect((await inspectRoot(root, 'true', undefined, '/proc/self/status')).probe).toBeUndefined();
  });
});

describe('the exec-binds workflow (data, in the format users write)', () => {
  it('checks as a workflow file and binds /dev, /dev/pts, /proc, /sys, then resolv.conf read-only, each slave', () => {
    const l = execBindsWorkflow();
    expect(l.workflow.name).toBe('exec-binds');
    expect(l.source).toEqual({ kind: 'builtin' });
    expect(l.workflow.steps.map((s) => [s.name, s.kind])).toEqual([
      ['bind-dev', 'mount'],
      ['bind-dev-pts', 'mount'],
      ['bind-proc', 'mount'],
      ['bind-sys', 'mount'],
      ['bind-resolv-conf', 'mount'],
    ]);
    expect(EXEC_BINDS_YAML.match(/options: \[slave\]/g)).toHaveLength(5);
    // exec.ts refuses a root where one of these is already mounted
    expect([...EXEC_BINDS_YAML.matchAll(/target: \$\{params.root\}\/(\S+)/g)].map((m) => m[1])).toEqual([...BIND_TARGETS]);
    expect(EXEC_BINDS_YAML).toMatch(/source: \/etc\/resolv.conf\n\s+target: \$\{params.root\}\/etc\/resolv.conf\n\s+bind: true\n\s+readOnly: true/);
  });
});
