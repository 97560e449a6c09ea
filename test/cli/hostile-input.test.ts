/**
 * Hostile input, end to end through the built CLI (fake kernel) and, for the exact argv
 * the real tools get, through the real kernel facilities with recording stand-ins on PATH.
 *
 *   - A value that is legitimate (a path with spaces, quotes, shell metacharacters, one
 *     that starts with '-') works: it reaches the kernel as ONE argument, after `--`, never
 *     through a shell; the run and its rollback succeed; no shell ever expands it.
 *   - A value that is not (a control character in a path or name — a newline in a dm table
 *     would add a segment —, a dm name that starts with '-' or holds shell metacharacters,
 *     `../` in a run id, a value far too long) is refused before anything changes: exit 2,
 *     the problem and the fix, no run, no kernel object, no file.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRealDm } from '../../src/kernel/real/dm.js';
import { createRealFilesystems, createRealLoop, createRealMounts, createRealPartitions } from '../../src/kernel/real/index.js';
import { expectRefused, kernelText, listing, MAIN, preparedSandbox, runId, type Sandbox, type Result } from './harness.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await preparedSandbox();
});
afterEach(() => sb.cleanup());

interface FakeState {
  loops: { n: number; backingFile: string; readOnly: boolean }[];
  dm: { name: string; uuid: string; live: { start: number; length: number; type: string; args: string[] }[] | null }[];
  mounts: { source: string; target: string }[];
}
const kernel = (): FakeState => JSON.parse(readFileSync(sb.kernelFile, 'utf8'));

/** A file that a shell expanding `$(touch PWNED)` or `` `touch PWNED` `` would have created. */
const PWNED = () => join(sb.dir, 'PWNED');

function ok(r: Result): Result {
  expect(r.stderr, r.stdout).toBe('');
  expect(r.code).toBe(0);
  return r;
}

/** Nothing of any run left in the fake kernel. */
function expectKernelEmpty(): void {
  const k = kernel();
  expect(k.loops).toEqual([]);
  expect(k.dm).toEqual([]);
  expect(k.mounts).toEqual([]);
}

// names a user may really have; every one is legal for a file or directory
const LEGAL_NAMES = [
  'my disk image.ext4',
  '$(touch PWNED).ext4',
  '`touch PWNED`.ext4',
  'a;touch PWNED;b.ext4',
  "it's \"quoted\".ext4",
  'glob*?[x]{a,b}.ext4',
  'pipe|amp&lt<gt>.ext4',
  '-o ro,remount.ext4', // starts with '-': as a relative path it must never read as an option
  '--help.ext4',
  'back\\slash.ext4',
  'ünïcödé 名前.ext4',
  '#hash ~tilde !bang.ext4',
];

describe('legitimate values with spaces, quotes and shell metacharacters: one argument each, the run works', () => {
  it.each(LEGAL_NAMES.map((n) => [n]))('loop-mount --file %j and a mount point named after it', (name) => {
    const file = sb.extImage(name);
    const mnt = join(sb.dir, `${name} mnt`);
    mkdirSync(mnt);
    // given as written on a command line: relative, and with --opt=value for a leading '-'
    const r = ok(sb.flow(['run', 'loop-mount', `--file=${name}`, `--mountpoint=${name} mnt`]));
    const id = runId(r);
    const k = kernel();
    expect(k.loops.map((l) => l.backingFile)).toEqual([file]); // exactly this path, not split, not expanded
    expect(k.mounts.map((m) => m.target)).toEqual([mnt]);
    expect(k.mounts[0]!.source).toBe(`/dev/loop${k.loops[0]!.n}`);
    expect(JSON.parse(sb.flow(['show', id, '--json']).stdout).params).toMatchObject({ file: { path: file }, mountpoint: { path: mnt } });
    ok(sb.flow(['rollback', id]));
    expectKernelEmpty();
    expect(existsSync(PWNED())).toBe(false);
    expect(existsSync(file) && existsSync(mnt)).toBe(true); // flow made neither: it removes neither
  });

  it('delayed-device: a new file and a mount point with metacharacters, a --key that looks like a path; the file is created and removed exactly there', () => {
    const file = join(sb.dir, 'slow $(touch PWNED) disk;.img');
    const mnt = join(sb.dir, 'm`touch PWNED`nt', 'deep dir');
    const key = '../../etc/passwd $(touch PWNED)';
    const r = ok(sb.flow(['run', 'delayed-device', '--file', file, '--size', '16M', '--delay', '0', '--mountpoint', mnt, '--key', key]));
    const id = runId(r);
    expect(readdirSync(sb.dir)).toContain('slow $(touch PWNED) disk;.img');
    const k = kernel();
    expect(k.loops.map((l) => l.backingFile)).toEqual([file]);
    expect(k.dm.map((d) => d.name)).toEqual([`flow-${id}`]);
    // one segment: nothing of the path is in the table, only the loop device's major:minor
    expect(k.dm[0]!.live).toEqual([{ start: 0, length: 32768, type: 'delay', args: [expect.stringMatching(/^7:\d+$/), '0', '0'] }]);
    expect(k.mounts.map((m) => m.target)).toEqual([mnt]);
    // the key is stored as given and never names a file: its lock is a hash inside locks/
    expect(JSON.parse(sb.flow(['list', '--json']).stdout)).toEqual([expect.objectContaining({ id, key })]);
    expect(readdirSync(join(sb.stateDir, 'locks')).every((n) => /^[a-z0-9-]+\.lock$/.test(n))).toBe(true);
    expect(readdirSync(sb.stateDir).sort()).toEqual(['index.json', 'locks', 'runs']);
    // the same key again: the run is found, nothing new
    expect(sb.flow(['run', 'delayed-device', '--file', file, '--key', key]).stderr).toContain(`run ${id} with --key ${JSON.stringify(key)} is already done`);
    ok(sb.flow(['rollback', id]));
    expectKernelEmpty();
    expect(existsSync(file)).toBe(false); // flow created it: rollback removed it, exactly it
    expect(existsSync(join(sb.dir, 'm`touch PWNED`nt'))).toBe(false);
    expect(existsSync(PWNED())).toBe(false);
  });

  it('snapshot-image: an image whose name starts with "-", every character dm allows in --name', () => {
    const img = sb.piImage('-r f image.img');
    const name = 'a.b:c=d@e#f+g_h-1';
    const r = ok(sb.flow(['run', 'snapshot-image', '--image=-r f image.img', '--name', name, '--size', '64M', '--cow-size', '16M', '--no-mount']));
    const k = kernel();
    expect(k.loops.map((l) => [l.backingFile, l.readOnly])).toEqual([[img, true]]);
    expect(k.dm.map((d) => d.name).sort()).toEqual([name, `${name}-base`]);
    ok(sb.flow(['rollback', runId(r)]));
    expectKernelEmpty();
  });
});

/** Replaces the tool in a plan's copy-paste command by printf and lets sh split it: the words the tool would get. */
function shellWords(command: string): string[] {
  const [, rest] = /^\S+ (.*)$/s.exec(command)!;
  const p = spawnSync('sh', ['-c', `set -- ${rest}; printf '%s\\0' "$@"`], { cwd: sb.dir, encoding: 'utf8' });
  expect(p.status, p.stderr).toBe(0);
  return p.stdout.split('\0').slice(0, -1);
}

describe('the exact argv', () => {
  it('the real blkid gets a path that starts with "-" and holds metacharacters as one argument after --; plan prints commands a shell splits the same way', () => {
    const name = '-o export $(touch PWNED) a;b.ext4';
    const file = sb.extImage(name);
    const { FLOW_FAKE_KERNEL: _fake, ...env } = sb.env(); // the real kernel: plan only reads (blkid, losetup -l)
    const r = spawnSync(process.execPath, [MAIN, '--verbose', '--log-format', 'json', 'plan', 'loop-mount', `--file=${name}`, '--mountpoint', 'a b', '--json'], { cwd: sb.dir, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const argvs = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l).argv as string[]);
    expect(argvs[0]).toEqual(['blkid', '-p', '-o', 'export', '--', file]);
    const plan = JSON.parse(r.stdout) as { steps: { name: string; command: string[]; inverse: string[] }[] };
    const attach = plan.steps.find((s) => s.name === 'attach-file')!;
    expect(shellWords(attach.command[0]!)).toEqual(['--find', '--show', '--', file]);
    const mount = plan.steps.find((s) => s.name === 'mount')!;
    expect(shellWords(mount.command[0]!).slice(-2)).toEqual(['<loop device of attach-file>', join(sb.dir, 'a b')]);
    expect(shellWords(mount.inverse[0]!)).toEqual(['--', join(sb.dir, 'a b')]);
    expect(existsSync(PWNED())).toBe(false);
  });

  describe('the real kernel facilities, with recording stand-ins for the tools on PATH', () => {
    let bin = '';
    let rec = '';
    let savedPath: string | undefined;
    beforeEach(() => {
      bin = join(sb.dir, 'bin');
      rec = join(sb.dir, 'argv.log');
      mkdirSync(bin);
      // records its argv NUL-separated, one call per line; prints nothing, exits 0
      for (const tool of ['losetup', 'mount', 'umount', 'mkfs.ext4', 'resize2fs', 'sfdisk', 'blkid', 'dmsetup']) {
        writeFileSync(join(bin, tool), `#!/bin/sh\nprintf '%s\\0' "$(basename "$0")" "$@" >> '${rec}'\nprintf '\\n' >> '${rec}'\ncat > /dev/null\n`);
        chmodSync(join(bin, tool), 0o755);
      }
      savedPath = process.env.PATH;
      process.env.PATH = `${bin}:${savedPath}`;
    });
    afterEach(() => {
      process.env.PATH = savedPath;
    });

    const calls = (): string[][] => (existsSync(rec) ? readFileSync(rec, 'utf8').split('\0\n').filter(Boolean).map((l) => l.split('\0')) : []);
    const settle = (p: Promise<unknown>) => p.catch(() => undefined); // the stand-ins print nothing; only the argv matters

    it('losetup, mount, umount, mkfs.ext4, resize2fs, sfdisk, blkid: a hostile path is one argument after --', async () => {
      const evil = join(sb.dir, '-d /dev/loop0 $(touch PWNED)\ttab; rm -rf x.img');
      await settle(createRealLoop().attach({ file: evil, readOnly: true }));
      await settle(createRealMounts().mount({ source: '/dev/loop7', target: evil, options: ['ro'] }));
      await settle(createRealMounts().umount(evil));
      await settle(createRealFilesystems().mkfsExt4({ target: evil, uuid: '11111111-2222-4333-8444-555555555555', blockSize: 4096 }));
      await settle(createRealFilesystems().grow(evil));
      await settle(createRealPartitions().read(evil));
      await settle(createRealFilesystems().probe(evil));
      const byTool = Object.fromEntries(calls().map((c) => [c[0], c.slice(1)]));
      expect(byTool.losetup).toEqual(['--find', '--show', '--read-only', '--', evil]);
      expect(byTool.mount).toEqual(['-o', 'ro', '--', '/dev/loop7', evil]);
      expect(byTool.umount).toEqual(['--', evil]);
      expect(byTool['mkfs.ext4']).toEqual(['-F', '-q', '-b', '4096', '-U', '11111111-2222-4333-8444-555555555555', '--', evil]);
      expect(byTool.resize2fs).toEqual(['--', evil]);
      expect(byTool.sfdisk).toEqual(['--json', '--', evil]);
      expect(byTool.blkid).toEqual(['-p', '-o', 'export', '--', evil]);
      expect(existsSync(PWNED())).toBe(false);
    });

    it.each([
      ['a mount source that starts with "-"', () => createRealMounts().mount({ source: '--bind', target: '/mnt', options: [] }), /bad mount source/],
      ['a mount option that smuggles another (a comma)', () => createRealMounts().mount({ source: '/dev/loop7', target: '/mnt', options: ['ro,suid'] }), /bad mount options/],
      ['a relative mount target', () => createRealMounts().mount({ source: '/dev/loop7', target: '-o', options: [] }), /must be absolute/],
      ['a relative backing file', () => createRealLoop().attach({ file: '-P', readOnly: true }), /must be an absolute path/],
      ['a relative mkfs target', () => createRealFilesystems().mkfsExt4({ target: '-n', uuid: '11111111-2222-4333-8444-555555555555', blockSize: 4096 }), /must be absolute/],
      ['a dm name that starts with "-"', () => createRealDm({ checkDriver: false }).create({ name: '--help', uuid: 'U', table: ['0 8 zero'] }), /bad device-mapper name/],
      ['a dm name with a newline', () => createRealDm({ checkDriver: false }).create({ name: 'a\nb', uuid: 'U', table: ['0 8 zero'] }), /bad device-mapper name/],
      ['a dm uuid that starts with "-"', () => createRealDm({ checkDriver: false }).create({ name: 'n', uuid: '-u', table: ['0 8 zero'] }), /bad device-mapper uuid/],
      ['a dm table line with a newline (a second segment)', () => createRealDm({ checkDriver: false }).create({ name: 'n', uuid: 'U', table: ['0 8 zero\n8 8 error'] }), /./],
      ['a loop device that is not one', () => createRealLoop().detach('-a'), /not a loop device/],
    ] as const)('refused before any tool runs: %s', async (_w, op, message) => {
      const err = await op().then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      );
      expect(err?.code).toBe('EINVAL');
      expect(err?.message).toMatch(message);
      expect(calls()).toEqual([]);
    });
  });
});

interface Refusal {
  what: string;
  args: () => string[];
  problem: RegExp;
  hint: RegExp;
}

function checkRefused(c: Refusal): void {
  const args = c.args();
  const before = { kernel: kernelText(sb), files: listing(sb) };
  const r = sb.flow(args);
  expectRefused(r, c.problem, c.hint);
  // the value is quoted in the message, escaped: no control character reaches the terminal raw
  expect(r.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]/);
  expect(sb.runs()).toEqual([]);
  expect(kernelText(sb)).toBe(before.kernel);
  expect(listing(sb)).toEqual(before.files);
  expect(existsSync(PWNED())).toBe(false);
}

const CONTROL = [
  ['a newline', '\n'],
  ['a carriage return', '\r'],
  ['a tab', '\t'],
  ['a terminal escape', '\x1b[2J'],
  ['DEL', '\x7f'],
] as const;

const lmArgs = () => ['run', 'loop-mount', '--file', sb.extImage()];

/** Every path option of every workflow, and where its value goes. */
const PATH_OPTIONS: [string, (v: string) => string[]][] = [
  ['snapshot-image --image', (v) => ['run', 'snapshot-image', '--image', v]],
  ['snapshot-image --mountpoint', (v) => ['run', 'snapshot-image', '--image', sb.piImage(), '--mountpoint', v]],
  ['delayed-device --file', (v) => ['run', 'delayed-device', '--file', v]],
  ['delayed-device --mountpoint', (v) => ['run', 'delayed-device', '--file', 'slow.img', '--mountpoint', v]],
  ['loop-mount --file', (v) => ['run', 'loop-mount', '--file', v]],
  ['loop-mount --mountpoint', (v) => [...lmArgs(), '--mountpoint', v]],
  ['plan loop-mount --file', (v) => ['plan', 'loop-mount', '--file', v]],
];

const controlInPaths: Refusal[] = PATH_OPTIONS.flatMap(([opt, args]) =>
  CONTROL.map(([what, ch]): Refusal => ({
    what: `${opt} with ${what}`,
    args: () => args(`x${ch}0 8 zero`),
    problem: new RegExp(`${opt.split(' ').at(-1)} "x\\\\\\S*0 8 zero" contains control characters`),
    hint: /rename the file or directory/,
  })),
);

const NAME_OPTIONS: [string, (v: string) => string[]][] = [
  ['snapshot-image --name', (v) => ['run', 'snapshot-image', '--image', sb.piImage(), `--name=${v}`]],
  ['delayed-device --name', (v) => ['run', 'delayed-device', '--file', 'slow.img', `--name=${v}`]],
];

const badNames: Refusal[] = NAME_OPTIONS.flatMap(([opt, args]): Refusal[] => [
  ...['x\n0 8 zero', 'x\x1b[31m', '$(touch PWNED)', '`touch PWNED`', 'a;b', 'a|b', 'a b', "a'b", 'a/b', '../x'].map((v): Refusal => ({
    what: `${opt} ${JSON.stringify(v)}`,
    args: () => args(v),
    problem: /--name ".*" has characters device-mapper would mangle/,
    hint: /use only letters, digits and # \+ - \. : = @ _/,
  })),
  ...['-rf', '--help', '-'].map((v): Refusal => ({ what: `${opt} ${JSON.stringify(v)}`, args: () => args(v), problem: /--name "-.*" starts with '-' and would be read as an option/, hint: /start it with a letter or digit/ })),
]);

const ID_COMMANDS: [string, (id: string) => string[]][] = [
  ['resume', (id) => ['resume', id]],
  ['rollback', (id) => ['rollback', id]],
  ['show', (id) => ['show', id]],
  ['log', (id) => ['log', id]],
  ['resolve', (id) => ['resolve', id, '--step', 'mount', '--as', 'absent']],
];

const BAD_IDS = ['../abcdefgh', 'abcdefgh/..', '../runs/abcdefgh', '/etc/passwd', '..', 'abcdefgh\n', 'abcdefgh.json', 'abcd efg', 'abcdefg$', 'a'.repeat(10_000)];

const badIds: Refusal[] = ID_COMMANDS.flatMap(([cmd, args]) =>
  BAD_IDS.map((id): Refusal => ({
    what: `${cmd} ${JSON.stringify(id.length > 40 ? `${id.slice(0, 8)}... (${id.length} characters)` : id)}`,
    args: () => args(id),
    problem: /".*" is not a run id \(8 characters of a-z and 2-9\)/,
    hint: /list runs with `flow list`/,
  })),
);

const LONG = 10_000;
const tooLong: Refusal[] = [
  { what: `--name of ${LONG} bytes`, args: () => ['run', 'delayed-device', '--file', 'slow.img', '--name', 'n'.repeat(LONG)], problem: new RegExp(`--name is ${LONG} bytes long`), hint: /at most 127 bytes/ },
  { what: '--name of 128 bytes in 64 two-byte characters', args: () => ['run', 'delayed-device', '--file', 'slow.img', '--name', 'é'.repeat(64)], problem: /--name "é+" has characters device-mapper would mangle/, hint: /letters, digits/ },
  { what: `--image of ${LONG} characters`, args: () => ['run', 'snapshot-image', '--image', `/${'i'.repeat(LONG)}`], problem: new RegExp(`--image is too long \\(${LONG + 1} characters\\)`), hint: /at most 4000 characters/ },
  { what: `--mountpoint of ${LONG} characters`, args: () => [...lmArgs(), '--mountpoint', `/${'m/'.repeat(LONG / 2)}`], problem: new RegExp(`--mountpoint is too long \\(${LONG + 1} characters\\)`), hint: /at most 4000 characters/ },
  { what: '--file with a 300-byte file name', args: () => ['run', 'delayed-device', '--file', 'f'.repeat(300)], problem: /--file \S+: a name in the path is too long/, hint: /use a shorter path/ },
  { what: '--mountpoint with a 300-byte directory name', args: () => [...lmArgs(), '--mountpoint', `${'d'.repeat(300)}/mnt`], problem: /--mountpoint \S+: a name in the path is too long/, hint: /use a shorter path/ },
  { what: `--key of ${LONG} characters`, args: () => [...lmArgs(), '--key', 'k'.repeat(LONG)], problem: new RegExp(`--key must be 1 to 200 characters \\(got ${LONG}\\)`), hint: /short stable name/ },
  { what: '--key with a terminal escape', args: () => [...lmArgs(), '--key', 'ci\x1b]0;owned\x07'], problem: /--key ".*" contains a control or non-printable character/, hint: /printable characters only/ },
  { what: '--key with a Unicode line separator', args: () => [...lmArgs(), '--key', 'a\u2028b'], problem: /--key ".*" contains a control or non-printable character/, hint: /printable characters only/ },
  { what: `--state-dir of ${LONG} characters`, args: () => ['--state-dir', `/${'s'.repeat(LONG)}`, 'list'], problem: new RegExp(`--state-dir is too long \\(${LONG + 1} characters\\)`), hint: /at most 4000 characters/ },
  { what: 'a --size of 400 digits', args: () => ['run', 'snapshot-image', '--image', sb.piImage(), '--size', '9'.repeat(400)], problem: /--size 9+ is too large/, hint: /at most 1P/ },
  { what: 'a --delay of 400 digits', args: () => ['run', 'delayed-device', '--file', 'slow.img', '--delay', '9'.repeat(400)], problem: /--delay 9+ is too large/, hint: /from 0 to 60000/ },
  { what: 'a --partition of 400 digits', args: () => ['run', 'snapshot-image', '--image', sb.piImage(), '--partition', '9'.repeat(400)], problem: /--partition 9+ is too large/, hint: /from 1 to 128/ },
  { what: 'a --chunk of 400 digits', args: () => ['run', 'snapshot-image', '--image', sb.piImage(), '--chunk', '9'.repeat(400)], problem: /--chunk 9+ is too large/, hint: /power of two/ },
  { what: 'an --older-than of 400 digits', args: () => ['prune', '--older-than', `${'9'.repeat(400)}d`], problem: /--older-than "9+d" is not a duration/, hint: /90m, 12h, 30d, 2w/ },
];

describe('refused before anything changes', () => {
  it.each(controlInPaths.map((c) => [c.what, c] as const))('%s', (_w, c) => checkRefused(c));
  it.each(badNames.map((c) => [c.what, c] as const))('%s', (_w, c) => checkRefused(c));
  it.each(badIds.map((c) => [c.what, c] as const))('%s', (_w, c) => checkRefused(c));
  it.each(tooLong.map((c) => [c.what, c] as const))('%s', (_w, c) => checkRefused(c));

  it('a valid run document planted outside runs/ is never reached through ../ (no lock file made for it either)', () => {
    const id = runId(ok(sb.flow(lmArgs())));
    const doc = readFileSync(join(sb.stateDir, 'runs', `${id}.json`), 'utf8');
    // the same run, as a document one level up and as a document in the sandbox
    writeFileSync(join(sb.stateDir, `${id}.json`), doc, { mode: 0o600 });
    writeFileSync(join(sb.dir, `${id}.json`), doc, { mode: 0o600 });
    rmSync(join(sb.stateDir, 'runs', `${id}.json`));
    for (const [cmd, args] of ID_COMMANDS) {
      for (const bad of [`../${id}`, `../../${id}`, `${sb.stateDir}/${id}`]) {
        const before = { kernel: kernelText(sb), files: listing(sb) };
        expectRefused(sb.flow(args(bad)), /is not a run id/, /flow list/);
        expect(kernelText(sb), cmd).toBe(before.kernel);
        expect(listing(sb), cmd).toEqual(before.files);
      }
    }
    expect(readdirSync(join(sb.stateDir, 'locks')).every((n) => /^[a-z0-9-]+\.lock$/.test(n))).toBe(true);
    // the run's devices are still there: nothing acted on the planted copies
    expect(kernel().mounts).toHaveLength(1);
    expect(existsSync(join(sb.stateDir, 'runs', `${id}.json`))).toBe(false);
  });
});

it('covers at least 100 hostile values', () => {
  expect(LEGAL_NAMES.length + controlInPaths.length + badNames.length + badIds.length + tooLong.length).toBeGreaterThanOrEqual(100);
});
