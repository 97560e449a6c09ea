/**
 * Bad input, end to end through the built CLI: every option of every workflow and every
 * command, given something wrong. Each case must
 *   - exit 2,
 *   - name the problem on the first stderr line ("flow: --chunk 12 is not a power of two"),
 *   - say what to do on the lines after it (the hint),
 *   - change nothing: no run recorded, the fake kernel's state file byte for byte the same
 *     (its operation counter would move for any state-changing call), and no file or
 *     directory created, changed or removed in the sandbox, the state directory included.
 *
 * An image that cannot be read (chmod 000) needs a user whom file modes stop: that case
 * runs the CLI as uid 65534 (nobody) with a state directory and fake kernel it owns.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { realFs } from '../../src/fs/real.js';
import { encodeSuperblock } from '../../src/kernel/fake/ext.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { buildTestImage } from '../../src/kernel/fake/test-image.js';
import { mbr } from '../support/scenarios.js';
import { entryForOtherUsers, listing as listingOf, preparedSandbox, type Result, type Sandbox } from './harness.js';

const MiB = 1024 * 1024;

let sb: Sandbox;
beforeEach(async () => {
  sb = await preparedSandbox();
});
afterEach(() => sb.cleanup());

/** Every entry under the sandbox (state directory included); not the fake kernel's state file. */
const listing = (root = sb.dir): string[] => listingOf(sb, root);

function kernelText(): string {
  return readFileSync(sb.kernelFile, 'utf8');
}

const kernel = () => openPersistedFakeKernel(sb.kernelFile, realFs);

/** A dm device flow does not own, named `name`, over a loop device of an image of its own. */
async function foreignDm(name: string): Promise<void> {
  const k = await kernel();
  const loop = await k.loop.attach({ file: sb.piImage('foreign.img'), readOnly: true });
  await k.dm.create({ name, uuid: 'OTHER-1', table: [`0 8192 linear ${loop.majmin} 24576`] });
}

/** Attaches `file` read-write, as somebody else's losetup would. */
async function attachedRw(file: string): Promise<string> {
  const k = await kernel();
  return (await k.loop.attach({ file, readOnly: false })).device;
}

/** An empty directory with a filesystem mounted on it. */
async function mountedDir(name: string): Promise<string> {
  const dir = join(sb.dir, name);
  mkdirSync(dir);
  const k = await kernel();
  const loop = await k.loop.attach({ file: sb.extImage('mounted.ext4'), readOnly: true });
  await k.mounts.mount({ source: loop.device, target: dir, options: ['ro'] });
  return dir;
}

/** A finished loop-mount run of rootfs.ext4 (made by the CLI itself); its id. */
function doneRun(): string {
  const r = sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--mountpoint', join(sb.dir, `mnt-${sb.runs().length}`)]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.split('\n')[0]!.trim();
}

const UUID = '11111111-2222-4333-8444-555555555555';

/** An 8 MiB file whose ext4 superblock claims 32 MiB (an image cut short). */
function truncatedExt(name: string): string {
  return sb.file(name, 8 * MiB, [[1024, encodeSuperblock({ uuid: UUID, blockSize: 4096, blockCount: 8192 })]]);
}

function dirWith(name: string, content: string[] = []): string {
  const d = join(sb.dir, name);
  mkdirSync(d);
  for (const f of content) writeFileSync(join(d, f), 'x');
  return d;
}

interface Case {
  /** what is wrong */
  what: string;
  /** builds the inputs (files, foreign devices) and returns the command line */
  setup: () => string[] | Promise<string[]>;
  /** the first stderr line: the option and what is wrong with it */
  problem: RegExp;
  /** the lines after it: what to do */
  hint: RegExp;
}

function expectRefused(r: Result, c: Pick<Case, 'problem' | 'hint'>): void {
  const lines = r.stderr.trimEnd().split('\n');
  const [first, ...rest] = lines;
  expect(r.signal, r.stderr).toBeNull();
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(first).toMatch(/^flow: /);
  expect(first).toMatch(c.problem);
  expect(rest.length, `no hint line in:\n${r.stderr}`).toBeGreaterThan(0);
  expect(rest.every((l) => l.startsWith('  ') && l.trim().length > 0), r.stderr).toBe(true);
  expect(rest.join('\n')).toMatch(c.hint);
  expect(r.stderr).not.toMatch(/internal error/);
}

async function checkCase(c: Case): Promise<void> {
  const args = await c.setup();
  const before = { kernel: kernelText(), files: listing(), runs: sb.runs() };
  const r = sb.flow(args);
  expectRefused(r, c);
  expect(sb.runs()).toEqual(before.runs);
  expect(kernelText()).toBe(before.kernel);
  expect(listing()).toEqual(before.files);
}

const si = (...a: string[]) => ['run', 'snapshot-image', ...a];
const pi = () => sb.piImage();
const dd = (...a: string[]) => ['run', 'delayed-device', ...a];
const lm = (...a: string[]) => ['run', 'loop-mount', ...a];

const SIZE_HINT = /e\.g\. 512M/;

const snapshotImage: Case[] = [
  { what: 'no --image', setup: () => si(), problem: /snapshot-image needs --image FILE/, hint: /flow run snapshot-image --image/ },
  { what: '--image without its value', setup: () => si('--image'), problem: /option '--image <FILE>' argument missing/, hint: /flow run snapshot-image --help/ },
  { what: 'an image that does not exist', setup: () => si('--image', 'nope.img'), problem: /--image \S+\/nope\.img does not exist/, hint: /check the path/ },
  { what: 'a directory as image', setup: () => (dirWith('imgdir'), si('--image', 'imgdir')), problem: /--image \S+\/imgdir is a directory, not a file/, hint: /give the path of a file/ },
  { what: 'a dangling symlink as image', setup: () => (symlinkSync('gone.img', join(sb.dir, 'link.img')), si('--image', 'link.img')), problem: /--image \S+\/link\.img is a dangling symbolic link/, hint: /point to an existing file/ },
  {
    what: 'a FIFO as image',
    setup: () => (execFileSync('mkfifo', [join(sb.dir, 'fifo')]), si('--image', 'fifo')),
    problem: /--image \S+\/fifo is not a regular file/,
    hint: /regular file/,
  },
  { what: 'an empty --image', setup: () => si('--image='), problem: /--image is empty/, hint: /give a path/ },
  { what: 'a newline in the --image path', setup: () => si('--image', 'pi\n0 8 zero'), problem: /--image "pi\\n0 8 zero" contains control characters/, hint: /rename/ },
  { what: '--partition on an image without a partition table', setup: () => si('--image', sb.extImage(), '--partition', '1'), problem: /--partition 1: \S+ has no partition table/, hint: /leave out --partition/ },
  { what: '--partition out of range', setup: () => si('--image', pi(), '--partition', '3'), problem: /--partition 3 is out of range: \S+ has partitions 1 \(type c, 8M\), 2 \(type 83, 48M\)/, hint: /pick one of those/ },
  { what: '--partition 0', setup: () => si('--image', pi(), '--partition', '0'), problem: /--partition 0 is too small/, hint: /from 1 to 128/ },
  { what: '--partition not a number', setup: () => si('--image', pi(), '--partition', 'two'), problem: /--partition "two" is not a whole number/, hint: /from 1 to 128/ },
  {
    what: '--partition of an extended container',
    setup: async () => {
      const p = join(sb.dir, 'ext.img');
      await buildTestImage(realFs, p, {
        size: 64 * MiB,
        partitions: [
          { type: 'c', startSector: 8192, sizeSectors: 16384 },
          { type: '5', startSector: 24576, sizeSectors: 98304 },
          { type: '83', startSector: 26624, sizeSectors: 94208, ext: { blockSize: 4096, uuid: '11111111-2222-4333-8444-555555555555' } },
        ],
      });
      return si('--image', p, '--partition', '2');
    },
    problem: /--partition 2 is an extended partition/,
    hint: /pick a partition inside it: .*5 \(type 83/,
  },
  {
    what: 'no Linux partition',
    setup: () => si('--image', sb.file('fat.img', 16 * MiB, [[0, mbr([{ type: 0x0c, start: 2048, sectors: 16384 }])]])),
    problem: /fat\.img has no Linux partition: partitions 1 \(type c, 8M\)/,
    hint: /--partition N/,
  },
  { what: 'a filesystem with 1 KiB blocks', setup: () => si('--image', sb.piImage('small.img', 1024)), problem: /has 1024-byte blocks, smaller than the zram COW's 4096-byte/, hint: /--cow-file PATH/ },
  { what: 'a whole image with no filesystem', setup: () => si('--image', sb.file('blank.img', 16 * MiB)), problem: /blank\.img holds no filesystem/, hint: /--no-mount/ },
  { what: 'an image smaller than one sector', setup: () => si('--image', sb.file('tiny.img', 100)), problem: /tiny\.img is smaller than one sector/, hint: /give a disk image/ },
  {
    what: 'a partition that ends past the end of the image',
    setup: () => si('--image', sb.file('cut.img', 16 * MiB, [[0, mbr([{ type: 0x83, start: 2048, sectors: 65536 }])]])),
    problem: /partition 1 of \S+\/cut\.img ends at byte 34603008, past the end of the image \(16777216 bytes\)/,
    hint: /truncated or its partition table is damaged/,
  },
  {
    what: 'a filesystem larger than its partition',
    setup: () =>
      si('--image', sb.file('big-fs.img', 16 * MiB, [[0, mbr([{ type: 0x83, start: 2048, sectors: 16384 }])], [2048 * 512 + 1024, encodeSuperblock({ uuid: UUID, blockSize: 4096, blockCount: 4096 })]])),
    problem: /the ext4 filesystem on partition 1 of \S+ claims 16777216 bytes \(4096 blocks of 4096\), more than the 8388608 bytes it lives in/,
    hint: /e2fsck -fn/,
  },
  {
    what: 'a Linux partition with no filesystem',
    setup: () => si('--image', sb.file('nofs.img', 16 * MiB, [[0, mbr([{ type: 0x83, start: 2048, sectors: 16384 }])]])),
    problem: /partition 1 of \S+ holds no filesystem/,
    hint: /--no-mount/,
  },
  { what: '--size zero', setup: () => si('--image', pi(), '--size', '0'), problem: /--size 0 is zero/, hint: SIZE_HINT },
  { what: '--size negative', setup: () => si('--image', pi(), '--size=-1G'), problem: /--size -1G is negative/, hint: SIZE_HINT },
  { what: '--size not a number', setup: () => si('--image', pi(), '--size', 'big'), problem: /--size "big" is not a size/, hint: SIZE_HINT },
  { what: '--size with a fraction', setup: () => si('--image', pi(), '--size', '1.5G'), problem: /--size "1\.5G" is not a size/, hint: SIZE_HINT },
  { what: '--size too large', setup: () => si('--image', pi(), '--size', '2048T'), problem: /--size 2048T is too large/, hint: /at most 1P/ },
  { what: '--size not a multiple of 512', setup: () => si('--image', pi(), '--size', '1000'), problem: /--size 1000 is not a multiple of 512 bytes \(the sector size\)/, hint: /for example 1K/ },
  { what: '--cow-size larger than memory', setup: () => si('--image', pi(), '--cow-size', '16G'), problem: /--cow-size 16G is larger than this machine's memory \(8G\)/, hint: /smaller --cow-size/ },
  { what: '--cow-size not a multiple of a page', setup: () => si('--image', pi(), '--cow-size', '6000'), problem: /--cow-size 6000 is not a multiple of 4096 bytes \(the zram page size\)/, hint: /for example 8K/ },
  { what: '--cow-size zero', setup: () => si('--image', pi(), '--cow-size', '0M'), problem: /--cow-size 0M is zero/, hint: SIZE_HINT },
  { what: '--chunk not a power of two', setup: () => si('--image', pi(), '--chunk', '12'), problem: /--chunk 12 is not a power of two/, hint: /use 8, 16, 32, \.\.\. sectors/ },
  { what: '--chunk too small', setup: () => si('--image', pi(), '--chunk', '4'), problem: /--chunk 4 is too small/, hint: /use 8, 16, 32, \.\.\. sectors/ },
  { what: '--chunk too large', setup: () => si('--image', pi(), '--chunk', '4194304'), problem: /--chunk 4194304 is too large/, hint: /at most 2097152/ },
  { what: '--chunk not a number', setup: () => si('--image', pi(), '--chunk', '16k'), problem: /--chunk "16k" is not a whole number/, hint: /use 8, 16, 32, \.\.\. sectors/ },
  { what: '--name with a space', setup: () => si('--image', pi(), '--name', 'my snap'), problem: /--name "my snap" has characters device-mapper would mangle/, hint: /only letters, digits/ },
  { what: '--name with a newline', setup: () => si('--image', pi(), '--name', 'a\nb'), problem: /--name "a\\nb" has characters/, hint: /only letters, digits/ },
  { what: '--name with a slash', setup: () => si('--image', pi(), '--name', 'a/b'), problem: /--name "a\/b" has characters/, hint: /only letters, digits/ },
  { what: "--name starting with '-'", setup: () => si('--image', pi(), '--name=-snap'), problem: /--name "-snap" starts with '-'/, hint: /start it with a letter or digit/ },
  { what: '--name "."', setup: () => si('--image', pi(), '--name', '..'), problem: /--name "\.\." is not a usable device name/, hint: /letters, digits/ },
  { what: '--name empty', setup: () => si('--image', pi(), '--name='), problem: /--name is empty/, hint: /leave out --name/ },
  { what: '--name too long for NAME-base', setup: () => si('--image', pi(), '--name', 'n'.repeat(123)), problem: /--name is 123 bytes long/, hint: /at most 122 bytes/ },
  { what: '--name taken by a device flow does not own', setup: async () => (await foreignDm('taken'), si('--image', pi(), '--name', 'taken')), problem: /--name: a device-mapper device named taken already exists \(uuid OTHER-1\)/, hint: /choose another --name/ },
  { what: 'NAME-base taken by a device flow does not own', setup: async () => (await foreignDm('mine-base'), si('--image', pi(), '--name', 'mine')), problem: /named mine-base already exists/, hint: /choose another --name/ },
  { what: '--mountpoint a file', setup: () => (sb.file('afile', 10), si('--image', pi(), '--mountpoint', 'afile')), problem: /--mountpoint \S+\/afile is not a directory/, hint: /empty directory or a path that does not exist/ },
  { what: '--mountpoint below a file', setup: () => (sb.file('afile', 10), si('--image', pi(), '--mountpoint', 'afile/mnt')), problem: /--mountpoint \S+\/afile\/mnt: a component of the path is not a directory/, hint: /check the path/ },
  { what: '--mountpoint below a dangling symlink', setup: () => (symlinkSync('nowhere', join(sb.dir, 'broken')), si('--image', pi(), '--mountpoint', 'broken/mnt')), problem: /--mountpoint \S+\/broken\/mnt: \S+\/broken is a dangling symbolic link/, hint: /empty directory or a path that does not exist/ },
  { what: '--mountpoint empty', setup: () => si('--image', pi(), '--mountpoint='), problem: /--mountpoint is empty/, hint: /give a path/ },
  { what: '--mountpoint a non-empty directory', setup: () => (dirWith('full', ['data']), si('--image', pi(), '--mountpoint', 'full')), problem: /--mountpoint \S+\/full is not empty/, hint: /empty directory/ },
  { what: '--mountpoint already a mount point', setup: async () => si('--image', pi(), '--mountpoint', await mountedDir('busy')), problem: /--mountpoint \S+\/busy is already a mount point/, hint: /choose another directory/ },
  {
    what: '--mountpoint a symlink to a directory',
    setup: () => (dirWith('target'), symlinkSync('target', join(sb.dir, 'mnt-link')), si('--image', pi(), '--mountpoint', 'mnt-link')),
    problem: /--mountpoint \S+\/mnt-link is a symbolic link/,
    hint: /give the real directory/,
  },
  { what: '--mountpoint with --no-mount', setup: () => si('--image', pi(), '--mountpoint', 'mnt', '--no-mount'), problem: /--mountpoint and --no-mount contradict each other/, hint: /leave out one of them/ },
  {
    what: 'an image attached read-write elsewhere',
    setup: async () => {
      const img = pi();
      await attachedRw(img);
      return si('--image', img);
    },
    problem: /pi\.img is attached read-write at \/dev\/loop\d+/,
    hint: /losetup -d \/dev\/loop\d+/,
  },
  // added for issue #5's list: every size option zero/negative/not a number/too large, every number option out of range
  { what: '--cow-size zero', setup: () => si('--image', pi(), '--cow-size', '0'), problem: /--cow-size 0 is zero/, hint: SIZE_HINT },
  { what: '--cow-size negative', setup: () => si('--image', pi(), '--cow-size=-4K'), problem: /--cow-size -4K is negative/, hint: SIZE_HINT },
  { what: '--cow-size not a number', setup: () => si('--image', pi(), '--cow-size', 'lots'), problem: /--cow-size "lots" is not a size/, hint: SIZE_HINT },
  { what: '--cow-size too large', setup: () => si('--image', pi(), '--cow-size', '2048T'), problem: /--cow-size 2048T is too large/, hint: /at most 1P/ },
  { what: '--chunk zero', setup: () => si('--image', pi(), '--chunk', '0'), problem: /--chunk 0 is too small/, hint: /power of two/ },
  { what: '--chunk negative', setup: () => si('--image', pi(), '--chunk=-16'), problem: /--chunk -16 is negative/, hint: /power of two/ },
  { what: '--partition negative', setup: () => si('--image', pi(), '--partition=-1'), problem: /--partition -1 is negative/, hint: /from 1 to 128/ },
  { what: '--partition above 128', setup: () => si('--image', pi(), '--partition', '129'), problem: /--partition 129 is too large/, hint: /from 1 to 128/ },
  { what: '--name with a shell metacharacter', setup: () => si('--image', pi(), '--name', 'a;b'), problem: /--name "a;b" has characters device-mapper would mangle/, hint: /only letters, digits/ },
  { what: '--mountpoint with a newline', setup: () => si('--image', pi(), '--mountpoint', 'm\nnt'), problem: /--mountpoint "m\\nnt" contains control characters/, hint: /rename/ },
  { what: '--no-grow with a value', setup: () => si('--image', pi(), '--no-grow=yes'), problem: /unknown option '--no-grow=yes'/, hint: /flow run snapshot-image --help/ },
  { what: '--keep-on-failure with a value', setup: () => si('--image', pi(), '--keep-on-failure=no'), problem: /unknown option '--keep-on-failure=no'/, hint: /flow run snapshot-image --help/ },
  { what: '--key empty', setup: () => si('--image', pi(), '--key='), problem: /--key must be 1 to 200 characters \(got 0\)/, hint: /--key ci-image-42/ },
  { what: '--key with a newline', setup: () => si('--image', pi(), '--key', 'a\nb'), problem: /--key "a\\nb" contains a control or non-printable character/, hint: /printable characters only/ },
  { what: '--key too long (before the workflow name)', setup: () => ['run', '--key', 'k'.repeat(201), 'snapshot-image', '--image', pi()], problem: /--key must be 1 to 200 characters \(got 201\)/, hint: /short stable name/ },
  { what: '--key without its value', setup: () => si('--image', pi(), '--key'), problem: /option '--key <KEY>' argument missing/, hint: /flow run --help/ },
];

const delayedDevice: Case[] = [
  { what: 'no --file', setup: () => dd('--size', '64M'), problem: /delayed-device needs --file PATH/, hint: /flow run delayed-device --file/ },
  { what: '--file in a directory that does not exist', setup: () => dd('--file', 'no/such/dir/slow.img'), problem: /--file \S+\/no\/such\/dir\/slow\.img: directory \S+\/no\/such\/dir does not exist/, hint: /mkdir -p \S+\/no\/such\/dir/ },
  { what: '--file a directory', setup: () => (dirWith('adir'), dd('--file', 'adir')), problem: /--file \S+\/adir is a directory, not a file/, hint: /give the path of a file/ },
  { what: '--file empty', setup: () => dd('--file='), problem: /--file is empty/, hint: /give a path/ },
  { what: '--size not a size', setup: () => dd('--file', 'slow.img', '--size', 'lots'), problem: /--size "lots" is not a size/, hint: SIZE_HINT },
  { what: '--size too small for a filesystem', setup: () => dd('--file', 'slow.img', '--size', '1M'), problem: /--size 1M is too small/, hint: /at least 8M/ },
  { what: '--size not a multiple of 4 KiB', setup: () => dd('--file', 'slow.img', '--size', '10001K'), problem: /--size 10001K is not a multiple of 4096 bytes \(the filesystem block size\)/, hint: /for example 10004K/ },
  { what: '--size negative', setup: () => dd('--file', 'slow.img', '--size=-64M'), problem: /--size -64M is negative/, hint: SIZE_HINT },
  { what: 'an existing file with another --size', setup: () => (sb.extImage('mine.img'), dd('--file', 'mine.img', '--size', '64M')), problem: /--size 64M: \S+\/mine\.img exists with another size \(33554432 bytes\)/, hint: /leave out --size/ },
  { what: 'an existing file without a filesystem', setup: () => (sb.file('raw.img', 16 * MiB), dd('--file', 'raw.img')), problem: /--file \S+\/raw\.img holds no filesystem/, hint: /--no-mount/ },
  { what: 'an existing file smaller than one sector', setup: () => (sb.file('tiny.img', 100), dd('--file', 'tiny.img')), problem: /--file \S+\/tiny\.img is smaller than one sector/, hint: /a path that does not exist yet/ },
  { what: 'an existing file whose filesystem is larger than the file', setup: () => (truncatedExt('cut.ext4'), dd('--file', 'cut.ext4')), problem: /the ext4 filesystem on --file \S+\/cut\.ext4 claims 33554432 bytes/, hint: /truncated or damaged/ },
  { what: 'an existing file attached elsewhere', setup: async () => (await attachedRw(sb.extImage('mine.img')), dd('--file', 'mine.img')), problem: /--file \S+\/mine\.img is already attached at \/dev\/loop\d+/, hint: /losetup -d/ },
  { what: '--delay negative', setup: () => dd('--file', 'slow.img', '--delay=-1'), problem: /--delay -1 is negative/, hint: /from 0 to 60000/ },
  { what: '--delay not a number', setup: () => dd('--file', 'slow.img', '--delay', 'slow'), problem: /--delay "slow" is not a whole number/, hint: /from 0 to 60000/ },
  { what: '--delay too large', setup: () => dd('--file', 'slow.img', '--delay', '100000'), problem: /--delay 100000 is too large/, hint: /from 0 to 60000/ },
  { what: '--read-delay negative', setup: () => dd('--file', 'slow.img', '--read-delay=-5'), problem: /--read-delay -5 is negative/, hint: /from 0 to 60000/ },
  { what: '--read-delay not a number', setup: () => dd('--file', 'slow.img', '--read-delay', '1e3'), problem: /--read-delay "1e3" is not a whole number/, hint: /from 0 to 60000/ },
  { what: '--read-delay too large', setup: () => dd('--file', 'slow.img', '--read-delay', '60001'), problem: /--read-delay 60001 is too large/, hint: /from 0 to 60000/ },
  { what: '--write-delay negative', setup: () => dd('--file', 'slow.img', '--write-delay=-1'), problem: /--write-delay -1 is negative/, hint: /from 0 to 60000/ },
  { what: '--write-delay not a number', setup: () => dd('--file', 'slow.img', '--write-delay', 'fast'), problem: /--write-delay "fast" is not a whole number/, hint: /from 0 to 60000/ },
  { what: '--write-delay too large', setup: () => dd('--file', 'slow.img', '--write-delay', '999999'), problem: /--write-delay 999999 is too large/, hint: /from 0 to 60000/ },
  { what: '--name taken by a device flow does not own', setup: async () => (await foreignDm('taken'), dd('--file', 'slow.img', '--name', 'taken')), problem: /--name: a device-mapper device named taken already exists/, hint: /choose another --name/ },
  { what: '--name with a slash', setup: () => dd('--file', 'slow.img', '--name', 'x/y'), problem: /--name "x\/y" has characters/, hint: /only letters, digits/ },
  { what: '--name too long', setup: () => dd('--file', 'slow.img', '--name', 'n'.repeat(128)), problem: /--name is 128 bytes long/, hint: /at most 127 bytes/ },
  { what: '--mountpoint a non-empty directory', setup: () => (dirWith('full', ['data']), dd('--file', 'slow.img', '--mountpoint', 'full')), problem: /--mountpoint \S+\/full is not empty/, hint: /empty directory/ },
  { what: '--mountpoint with --no-mount', setup: () => dd('--file', 'slow.img', '--no-mount', '--mountpoint', 'mnt'), problem: /--mountpoint and --no-mount contradict each other/, hint: /leave out one of them/ },
  { what: '--no-sync with a value', setup: () => dd('--file', 'slow.img', '--no-sync=yes'), problem: /unknown option '--no-sync=yes'/, hint: /flow run delayed-device --help/ },
  { what: '--size zero', setup: () => dd('--file', 'slow.img', '--size', '0'), problem: /--size 0 is zero/, hint: SIZE_HINT },
  { what: '--size too large', setup: () => dd('--file', 'slow.img', '--size', '2048T'), problem: /--size 2048T is too large/, hint: /at most 1P/ },
  { what: '--size larger than the filesystem that would hold the file', setup: () => dd('--file', 'slow.img', '--size', '1000T'), problem: /--size 1000T is larger than the filesystem holding \S+\/slow\.img \(\d+[KMGT]?\)/, hint: /a smaller --size, or put --file on a larger filesystem/ },
  { what: '--file a FIFO', setup: () => (execFileSync('mkfifo', [join(sb.dir, 'fifo')]), dd('--file', 'fifo')), problem: /--file \S+\/fifo is not a regular file/, hint: /regular file/ },
  { what: '--file with a newline', setup: () => dd('--file', 'slow\n0 8 zero'), problem: /--file "slow\\n0 8 zero" contains control characters/, hint: /rename/ },
  { what: '--file below a file', setup: () => (sb.file('afile', 1), dd('--file', 'afile/slow.img')), problem: /--file \S+\/afile\/slow\.img: a component of the path is not a directory/, hint: /check the path/ },
  { what: '--delay with a fraction', setup: () => dd('--file', 'slow.img', '--delay', '1.5'), problem: /--delay "1\.5" is not a whole number/, hint: /from 0 to 60000/ },
  { what: '--delay without its value', setup: () => dd('--file', 'slow.img', '--delay'), problem: /option '--delay <MS>' argument missing/, hint: /flow run delayed-device --help/ },
  { what: '--name empty', setup: () => dd('--file', 'slow.img', '--name='), problem: /--name is empty/, hint: /leave out --name/ },
  { what: "--name starting with '-'", setup: () => dd('--file', 'slow.img', '--name=-rf'), problem: /--name "-rf" starts with '-'/, hint: /start it with a letter or digit/ },
  { what: '--name with a space', setup: () => dd('--file', 'slow.img', '--name', 'slow disk'), problem: /--name "slow disk" has characters device-mapper would mangle/, hint: /only letters, digits/ },
  { what: '--mountpoint a file', setup: () => (sb.file('afile', 1), dd('--file', 'slow.img', '--mountpoint', 'afile')), problem: /--mountpoint \S+\/afile is not a directory/, hint: /empty directory/ },
  { what: '--mountpoint already a mount point', setup: async () => dd('--file', 'slow.img', '--mountpoint', await mountedDir('busy')), problem: /--mountpoint \S+\/busy is already a mount point/, hint: /choose another directory/ },
  { what: '--mountpoint a symlink', setup: () => (dirWith('t'), symlinkSync('t', join(sb.dir, 'l')), dd('--file', 'slow.img', '--mountpoint', 'l')), problem: /--mountpoint \S+\/l is a symbolic link/, hint: /real directory/ },
  { what: '--no-mount with a value', setup: () => dd('--file', 'slow.img', '--no-mount=1'), problem: /unknown option '--no-mount=1'/, hint: /flow run delayed-device --help/ },
];

const loopMount: Case[] = [
  { what: 'no --file', setup: () => lm(), problem: /loop-mount needs --file PATH/, hint: /flow run loop-mount --file/ },
  { what: '--file does not exist', setup: () => lm('--file', 'nope.ext4'), problem: /--file \S+\/nope\.ext4 does not exist/, hint: /check the path/ },
  { what: '--file without a filesystem', setup: () => (sb.file('raw.img', 16 * MiB), lm('--file', 'raw.img')), problem: /--file \S+\/raw\.img holds no filesystem/, hint: /mkfs\.ext4/ },
  { what: '--file whose filesystem is larger than the file', setup: () => (truncatedExt('cut.ext4'), lm('--file', 'cut.ext4')), problem: /the ext4 filesystem on --file \S+\/cut\.ext4 claims 33554432 bytes \(8192 blocks of 4096\), more than the 8388608 bytes/, hint: /truncated or damaged/ },
  { what: '--file attached read-write elsewhere', setup: async () => (await attachedRw(sb.extImage()), lm('--file', 'rootfs.ext4')), problem: /--file \S+\/rootfs\.ext4 is already attached at \/dev\/loop\d+/, hint: /--read-only or detach it/ },
  { what: '--mountpoint a file', setup: () => (sb.extImage(), sb.file('afile', 1), lm('--file', 'rootfs.ext4', '--mountpoint', 'afile')), problem: /--mountpoint \S+\/afile is not a directory/, hint: /empty directory/ },
  { what: '--mountpoint a symlink', setup: () => (sb.extImage(), dirWith('t'), symlinkSync('t', join(sb.dir, 'l')), lm('--file', 'rootfs.ext4', '--mountpoint', 'l')), problem: /--mountpoint \S+\/l is a symbolic link/, hint: /real directory/ },
  { what: '--read-only with a value', setup: () => (sb.extImage(), lm('--file', 'rootfs.ext4', '--read-only=yes')), problem: /unknown option '--read-only=yes'/, hint: /flow run loop-mount --help/ },
  { what: '--file empty', setup: () => lm('--file='), problem: /--file is empty/, hint: /give a path/ },
  { what: '--file a directory', setup: () => (dirWith('adir'), lm('--file', 'adir')), problem: /--file \S+\/adir is a directory, not a file/, hint: /give the path of a file/ },
  { what: '--file a dangling symlink', setup: () => (symlinkSync('gone.ext4', join(sb.dir, 'link.ext4')), lm('--file', 'link.ext4')), problem: /--file \S+\/link\.ext4 is a dangling symbolic link/, hint: /point to an existing file/ },
  { what: '--file a FIFO', setup: () => (execFileSync('mkfifo', [join(sb.dir, 'fifo')]), lm('--file', 'fifo')), problem: /--file \S+\/fifo is not a regular file/, hint: /regular file/ },
  { what: '--file with a newline', setup: () => lm('--file', 'root\nfs.ext4'), problem: /--file "root\\nfs\.ext4" contains control characters/, hint: /rename/ },
  { what: '--file smaller than a superblock', setup: () => (sb.file('tiny.img', 100), lm('--file', 'tiny.img')), problem: /--file \S+\/tiny\.img holds no filesystem/, hint: /mkfs\.ext4/ },
  { what: '--mountpoint a non-empty directory', setup: () => (sb.extImage(), dirWith('full', ['data']), lm('--file', 'rootfs.ext4', '--mountpoint', 'full')), problem: /--mountpoint \S+\/full is not empty/, hint: /empty directory/ },
  { what: '--mountpoint already a mount point', setup: async () => (sb.extImage(), lm('--file', 'rootfs.ext4', '--mountpoint', await mountedDir('busy'))), problem: /--mountpoint \S+\/busy is already a mount point/, hint: /choose another directory/ },
  { what: '--mountpoint empty', setup: () => (sb.extImage(), lm('--file', 'rootfs.ext4', '--mountpoint=')), problem: /--mountpoint is empty/, hint: /give a path/ },
  { what: '--no-mount (loop-mount always mounts)', setup: () => (sb.extImage(), lm('--file', 'rootfs.ext4', '--no-mount')), problem: /unknown option '--no-mount'/, hint: /flow run loop-mount --help/ },
];

const ID_HINT = /flow list/;
const commands: Case[] = [
  { what: 'an unknown workflow', setup: () => ['run', 'nope'], problem: /unknown workflow 'nope'/, hint: /snapshot-image, delayed-device, loop-mount/ },
  { what: 'run without a workflow', setup: () => ['run'], problem: /no workflow given/, hint: /snapshot-image, delayed-device, loop-mount/ },
  { what: 'no command', setup: () => [], problem: /no command given/, hint: /flow --help/ },
  { what: 'an unknown command', setup: () => ['bogus'], problem: /unknown command 'bogus'/, hint: /flow --help/ },
  { what: 'help for an unknown command', setup: () => ['help', 'bogus'], problem: /unknown command 'bogus'/, hint: /commands: run, resume, rollback, .*plan.*recover.*resolve.*doctor.*prune.*completion/ },
  { what: 'an unknown option of a workflow', setup: () => si('--image', pi(), '--bogus'), problem: /unknown option '--bogus'/, hint: /flow run snapshot-image --help/ },
  { what: 'a misspelt option', setup: () => si('--image', pi(), '--cowsize', '1G'), problem: /unknown option '--cowsize'/, hint: /Did you mean --cow-size\?[\s\S]*flow run snapshot-image --help/ },
  { what: 'an unknown option of list', setup: () => ['list', '--all'], problem: /unknown option '--all'/, hint: /flow list --help/ },
  { what: 'an unknown global option', setup: () => ['--loud', 'list'], problem: /unknown option '--loud'/, hint: /flow --help/ },
  { what: 'a bad --log-format', setup: () => ['--log-format', 'xml', 'list'], problem: /--log-format.*'xml' is invalid. Allowed choices are text, json/, hint: /flow --help/ },
  { what: 'an extra argument', setup: () => ['show', 'abcdefgh', 'more'], problem: /too many arguments for 'show'/, hint: /flow show --help/ },
  ...(['resume', 'rollback', 'show', 'log'] as const).flatMap((cmd): Case[] => [
    { what: `${cmd} without an id`, setup: () => [cmd], problem: /missing required argument 'id'/, hint: new RegExp(`flow ${cmd} --help`) },
    { what: `${cmd} of a run that does not exist`, setup: () => [cmd, 'zzzzzzzz'], problem: /no run zzzzzzzz in \S+\/state\/runs/, hint: ID_HINT },
    { what: `${cmd} ../etc`, setup: () => [cmd, '../etc'], problem: /"\.\.\/etc" is not a run id/, hint: ID_HINT },
    { what: `${cmd} ABC`, setup: () => [cmd, 'ABC'], problem: /"ABC" is not a run id/, hint: ID_HINT },
    { what: `${cmd} of an empty id`, setup: () => [cmd, ''], problem: /"" is not a run id/, hint: ID_HINT },
    { what: `${cmd} of an id that climbs out of the state directory`, setup: () => [cmd, 'x/../../../escaped'], problem: /"x\/\.\.\/\.\.\/\.\.\/escaped" is not a run id/, hint: ID_HINT },
  ]),
  // resolve takes an id too, and two mandatory options
  { what: 'resolve without an id', setup: () => ['resolve', '--step', 'mount', '--as', 'absent'], problem: /missing required argument 'id'/, hint: /flow resolve --help/ },
  { what: 'resolve of a run that does not exist', setup: () => ['resolve', 'zzzzzzzz', '--step', 'mount', '--as', 'absent'], problem: /no run zzzzzzzz in \S+\/state\/runs/, hint: ID_HINT },
  { what: 'resolve ../etc', setup: () => ['resolve', '../etc', '--step', 'mount', '--as', 'absent'], problem: /"\.\.\/etc" is not a run id/, hint: ID_HINT },
  { what: 'resolve without --step', setup: () => ['resolve', 'zzzzzzzz', '--as', 'absent'], problem: /required option '--step <STEP>' not specified/, hint: /flow resolve --help/ },
  { what: 'resolve without --as', setup: () => ['resolve', 'zzzzzzzz', '--step', 'mount'], problem: /required option '--as <WHAT>' not specified/, hint: /flow resolve --help/ },
  { what: 'resolve --as something else', setup: () => ['resolve', 'zzzzzzzz', '--step', 'mount', '--as', 'gone'], problem: /'gone' is invalid. Allowed choices are applied, absent/, hint: /flow resolve --help/ },
  {
    what: 'resolve of a run that does not wait for an operator',
    setup: () => (sb.extImage(), ['resolve', doneRun(), '--step', 'mount', '--as', 'absent']),
    problem: /run [a-z2-9]{8} is done, not waiting for an operator/,
    hint: /flow show [a-z2-9]{8}/,
  },
  {
    what: 'resume of a rolled-back run',
    setup: () => {
      sb.extImage();
      const id = doneRun();
      expect(sb.flow(['rollback', id]).code).toBe(0);
      return ['resume', id];
    },
    problem: /run [a-z2-9]{8} was rolled back; it cannot be resumed/,
    hint: /start a new run with `flow run`/,
  },
  { what: 'recover --policy something else', setup: () => ['recover', '--policy', 'ignore'], problem: /'ignore' is invalid. Allowed choices are resume, rollback/, hint: /flow recover --help/ },
  { what: 'completion for an unknown shell', setup: () => ['completion', 'fish'], problem: /'fish' is invalid for argument 'shell'. Allowed choices are bash, zsh/, hint: /flow completion --help/ },
  { what: 'completion without a shell', setup: () => ['completion'], problem: /missing required argument 'shell'/, hint: /flow completion --help/ },
  { what: 'an unknown option of doctor', setup: () => ['doctor', '--fix'], problem: /unknown option '--fix'/, hint: /flow doctor --help/ },
  { what: 'an argument to workflows', setup: () => ['workflows', 'snapshot-image'], problem: /too many arguments for 'workflows'/, hint: /flow workflows --help/ },
  { what: 'an unknown option of log', setup: () => ['log', 'zzzzzzzz', '--tail'], problem: /unknown option '--tail'/, hint: /flow log --help/ },
  { what: 'plan of an unknown workflow', setup: () => ['plan', 'nope'], problem: /unknown workflow 'nope'/, hint: /snapshot-image, delayed-device, loop-mount/ },
  { what: 'plan without a workflow', setup: () => ['plan'], problem: /no workflow given/, hint: /snapshot-image, delayed-device, loop-mount/ },
  { what: 'plan with a bad option value (same preflight as run)', setup: () => ['plan', 'snapshot-image', '--image', pi(), '--chunk', '12'], problem: /--chunk 12 is not a power of two/, hint: /use 8, 16, 32/ },
  { what: 'plan without its required option', setup: () => ['plan', 'loop-mount'], problem: /loop-mount needs --file PATH/, hint: /flow run loop-mount --file/ },
  { what: 'plan with a run-only option', setup: () => ['plan', 'loop-mount', '--file', sb.extImage(), '--keep-on-failure'], problem: /unknown option '--keep-on-failure'/, hint: /flow plan loop-mount --help/ },
  { what: 'an empty --state-dir', setup: () => ['--state-dir=', 'list'], problem: /--state-dir is empty/, hint: /give a directory/ },
  { what: '--state-dir whose parent does not exist', setup: () => ['--state-dir', join(sb.dir, 'no', 'state'), 'list'], problem: /cannot create state directory \S+\/no\/state: its parent does not exist/, hint: /create \S+\/no or choose another --state-dir/ },
  { what: '--state-dir a file', setup: () => ['--state-dir', sb.file('afile', 1), 'list'], problem: /state directory \S+\/afile is not a directory/, hint: /choose another --state-dir/ },
  { what: '--state-dir with a newline', setup: () => ['--state-dir', join(sb.dir, 'st\nate'), 'list'], problem: /--state-dir "\S+\/st\\nate" contains control characters/, hint: /choose another --state-dir/ },
];

describe('flow run snapshot-image refuses bad input', () => {
  it.each(snapshotImage.map((c) => [c.what, c] as const))('%s', async (_w, c) => checkCase(c));
});

describe('flow run delayed-device refuses bad input', () => {
  it.each(delayedDevice.map((c) => [c.what, c] as const))('%s', async (_w, c) => checkCase(c));
});

describe('flow run loop-mount refuses bad input', () => {
  it.each(loopMount.map((c) => [c.what, c] as const))('%s', async (_w, c) => checkCase(c));
});

describe('commands refuse bad input', () => {
  it.each(commands.map((c) => [c.what, c] as const))('%s', async (_w, c) => checkCase(c));
});

describe('an unsafe state directory is refused', () => {
  it.each([
    ['group-writable', 0o770],
    ['world-writable', 0o777],
    ['group-writable and sticky', 0o1770],
  ] as const)('%s (mode %o): exit 2 with the chmod that fixes it, nothing created in it', (_w, mode) => {
    chmodSync(sb.stateDir, mode);
    sb.extImage();
    for (const args of [['list'], lm('--file', 'rootfs.ext4'), ['show', 'zzzzzzzz']]) {
      const before = { kernel: kernelText(), files: listing() };
      const r = sb.flow(args);
      expectRefused(r, { problem: new RegExp(`state directory ${sb.stateDir} is writable by group or others \\(mode ${(mode & 0o777).toString(8)}\\)`), hint: new RegExp(`chmod 700 ${sb.stateDir}`) });
      expect(kernelText()).toBe(before.kernel);
      expect(listing()).toEqual(before.files);
    }
    expect(sb.runs()).toEqual([]);
  });

  it('owned by another user: exit 2 with the chown that fixes it, nothing created in it', () => {
    chownSync(sb.stateDir, 4242, 4242);
    sb.extImage();
    for (const args of [['list'], lm('--file', 'rootfs.ext4'), ['rollback', 'zzzzzzzz'], ['recover']]) {
      const before = { kernel: kernelText(), files: listing() };
      const r = sb.flow(args);
      expectRefused(r, { problem: new RegExp(`state directory ${sb.stateDir} is owned by uid 4242, not by this user \\(uid 0\\)`), hint: new RegExp(`chown 0 ${sb.stateDir}`) });
      expect(kernelText()).toBe(before.kernel);
      expect(listing()).toEqual(before.files);
    }
    expect(sb.runs()).toEqual([]);
  });

  it('a symlinked state directory: exit 2, the link not followed, nothing created behind it', () => {
    const real = join(sb.dir, 'real-state');
    mkdirSync(real, { mode: 0o700 });
    const link = join(sb.dir, 'state-link');
    symlinkSync(real, link);
    sb.extImage();
    for (const args of [['list'], lm('--file', 'rootfs.ext4'), ['--state-dir', link, 'list']]) {
      const before = { kernel: kernelText(), files: listing() };
      const r = sb.flow(args, { FLOW_STATE_DIR: link });
      expectRefused(r, { problem: new RegExp(`state directory ${link} is a symbolic link; flow does not follow it`), hint: /mkdir -m 700|point --state-dir at the target/ });
      expect(kernelText()).toBe(before.kernel);
      expect(listing()).toEqual(before.files);
    }
    expect(readdirSync(real)).toEqual([]);
    expect(existsSync(join(real, 'runs'))).toBe(false);
  });
});

describe('an image this user cannot read', () => {
  const NOBODY = 65534;
  // nobody runs a copy of the CLI it can read, wherever the checkout is
  let cli: ReturnType<typeof entryForOtherUsers>;
  beforeAll(() => {
    cli = entryForOtherUsers();
  });
  afterAll(() => cli.remove());
  it.each([
    ['snapshot-image --image', (img: string) => si('--image', img), /--image \S+\/secret\.img cannot be read: EACCES/],
    ['loop-mount --file', (img: string) => lm('--file', img), /--file \S+\/secret\.img cannot be read: EACCES/],
    ['delayed-device --file (an existing file)', (img: string) => dd('--file', img), /--file \S+\/secret\.img cannot be read: EACCES/],
    ['plan snapshot-image --image', (img: string) => ['plan', 'snapshot-image', '--image', img], /--image \S+\/secret\.img cannot be read: EACCES/],
  ] as const)('%s, run as uid 65534: exit 2, names the file and the fix, nothing changed', async (_w, argsOf, problem) => {
    // a world-readable sandbox with a state directory and a fake kernel that nobody owns
    chmodSync(sb.dir, 0o755);
    const own = join(sb.dir, 'nobody');
    mkdirSync(own, { mode: 0o700 });
    const stateDir = join(own, 'state');
    const kernelFile = join(own, 'kernel.json');
    for (const d of [stateDir, join(stateDir, 'runs'), join(stateDir, 'locks')]) mkdirSync(d, { mode: 0o700 });
    await openPersistedFakeKernel(kernelFile, realFs);
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, own]);
    const img = sb.piImage('secret.img');
    chmodSync(img, 0o000);
    const before = { kernel: readFileSync(kernelFile, 'utf8'), files: listing() };
    const p = spawnSync(process.execPath, [cli.main, ...argsOf(img)], {
      cwd: sb.dir,
      uid: NOBODY,
      gid: NOBODY,
      env: { PATH: process.env.PATH, FLOW_STATE_DIR: stateDir, FLOW_FAKE_KERNEL: kernelFile, FLOW_RUN_DIR: join(own, 'run') },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expectRefused({ code: p.status, signal: p.signal, stdout: p.stdout, stderr: p.stderr }, { problem, hint: /check its permissions \(flow needs to read it\)/ });
    expect(readFileSync(kernelFile, 'utf8')).toBe(before.kernel);
    expect(listing()).toEqual(before.files);
    expect(readdirSync(join(stateDir, 'runs'))).toEqual([]);
  });
});

it('covers at least 45 bad-input cases', () => {
  expect(snapshotImage.length + delayedDevice.length + loopMount.length + commands.length).toBeGreaterThanOrEqual(45);
});
