/**
 * The three workflows end to end through the built CLI (dist/, `npm run build` first) on
 * the real kernel, in the kernel lab only:
 *   scripts/lab run -q -- npx vitest run --project lab
 * Every test rolls back its run (also when it fails) and checks the host holds exactly
 * what it held before: no loop, dm device, zram device, mount or run directory is left.
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { requireLab } from './lab-env.js';
import { dmTable, hostObjects, MAIN, majmin, mountOf, Sandbox, sh, sha256, type HostObjects } from './real-host.js';

requireLab();

let sb: Sandbox;
let before: HostObjects;
let runs: string[];
let undo: (() => void)[];

beforeEach(() => {
  sb = new Sandbox();
  before = hostObjects();
  runs = [];
  undo = [];
});

afterEach(() => {
  const errors: string[] = [];
  for (const id of runs.reverse()) {
    const r = sb.flow(['rollback', id]);
    if (r.code !== 0) errors.push(`flow rollback ${id}: exit ${r.code}: ${r.stderr}`);
  }
  for (const fn of undo.reverse()) {
    try {
      fn();
    } catch (err) {
      errors.push(String(err));
    }
  }
  const after = hostObjects();
  // never rm -r through a mount that was left behind
  if (!after.mounts.some((m) => m.includes(sb.dir))) rmSync(sb.dir, { recursive: true, force: true });
  expect(errors).toEqual([]);
  expect(after).toEqual(before);
});

/** Starts a run and registers its rollback for the cleanup. */
function run(workflow: string, args: string[]) {
  const out = sb.run(workflow, args);
  runs.push(out.id);
  return out;
}

/** Rolls back explicitly (the cleanup then has nothing left to do) and checks nothing remains. */
function rollback(id: string): void {
  expect(sb.rollback(id).status).toBe('rolled-back');
  runs = runs.filter((r) => r !== id);
  const now = hostObjects();
  expect(now).toEqual(before);
  expect(now.dm.filter((d) => d.includes(id))).toEqual([]);
  expect(sb.runDirEntries()).toEqual([]);
}

describe('snapshot-image on a Pi-like image (MBR, FAT32 boot, ext4 root with 4 KiB blocks)', () => {
  it('linear+zero base, zram-COW snapshot, mounted, writable, grown; the image never changes; rollback leaves nothing', async () => {
    const img = sb.piImage('pi.img', 128);
    const sum = await sha256(img.path);
    const size = 512 * 1024 * 1024;
    const total = size / 512;
    const r = run('snapshot-image', ['--image', img.path, '--size', '512M', '--cow-size', '64M']);
    expect(r.status).toBe('done');
    const { id } = r;
    const { loop, base, cow, device, mountpoint } = r.outputs as Record<string, string>;
    expect(mountpoint).toBe(join(sb.runDir, id, 'mnt'));
    expect(device).toBe(`/dev/mapper/flow-${id}`);

    // the loop is read-only on the image; tables reference devices as major:minor
    expect(sh(['losetup', '-J', '-l', '-O', 'NAME,RO,BACK-FILE', loop!]).stdout).toMatch(/"ro":\s*true/);
    expect(dmTable(`flow-${id}-base`)).toEqual([`0 ${img.p2.sectors} linear ${majmin(loop!)} ${img.p2.start}`, `${img.p2.sectors} ${total - img.p2.sectors} zero`]);
    expect(dmTable(`flow-${id}`)).toEqual([`0 ${total} snapshot ${majmin(base!)} ${majmin(cow!)} N 16`]);

    // mounted: the image's files are there; a write lands in the COW
    const m = mountOf(mountpoint!);
    expect(m).toMatchObject({ majmin: majmin(device!), fstype: 'ext4' });
    expect(readFileSync(join(mountpoint!, 'etc/hostname'), 'utf8')).toBe('raspberrypi\n');
    const blob = join(mountpoint!, 'usr/share/doc/flow/random.bin');
    expect(await sha256(blob)).toBe(readFileSync(`${blob}.sha256`, 'utf8').trim());
    const note = join(mountpoint!, 'home/pi/written-by-test.txt');
    const fd = openSync(note, 'w');
    writeSync(fd, 'hello snapshot\n');
    fsyncSync(fd);
    closeSync(fd);
    expect(readFileSync(note, 'utf8')).toBe('hello snapshot\n');
    expect(sh(['dmsetup', 'status', `flow-${id}`]).stdout).toMatch(new RegExp(`^0 ${total} snapshot \\d+/\\d+ \\d+`));

    // grown online to the snapshot size
    const blocks = Number(/Block count:\s+(\d+)/.exec(sh(['dumpe2fs', '-h', device!]).stdout)![1]);
    expect(blocks).toBe(size / 4096);
    const dfBlocks = Number(sh(['df', '--output=size', '-B4096', mountpoint!]).stdout.trim().split('\n')[1]);
    expect(dfBlocks).toBeGreaterThan((img.p2.sectors * 512) / 4096);

    expect(await sha256(img.path)).toBe(sum);
    rollback(id);
    expect(await sha256(img.path)).toBe(sum);
    expect(sh(['losetup', '-j', img.path]).stdout).toBe('');
  });

  it('refuses (exit 2, nothing created) a root filesystem with 1 KiB blocks', () => {
    const img = sb.piImage('pi1k.img', 128, 1024);
    const r = sb.flow(['run', 'snapshot-image', '--image', img.path, '--size', '256M', '--cow-size', '32M']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/1024-byte blocks/);
    expect(hostObjects()).toEqual(before);
    expect(sb.runDirEntries()).toEqual([]);
  });

  it('refuses (exit 2) a --name held by a dm device flow does not own, and leaves that device alone', () => {
    const img = sb.piImage('pi.img', 128);
    const name = `foreign-${process.pid}-${Date.now()}`;
    sh(['dmsetup', 'create', name, '-u', `OTHER-${name}`], { input: '0 2048 zero\n' });
    undo.push(() => void sh(['dmsetup', 'remove', '--retry', name]));
    const held = hostObjects();
    const r = sb.flow(['run', 'snapshot-image', '--image', img.path, '--name', name, '--size', '256M', '--cow-size', '32M']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`named ${name} already exists`);
    expect(hostObjects()).toEqual(held);
    expect(dmTable(name)).toEqual(['0 2048 zero']);
    expect(sb.runDirEntries()).toEqual([]);
  });

  it('refuses (exit 2) an image attached read-write elsewhere, and leaves that loop alone', () => {
    const img = sb.piImage('pi.img', 128);
    const dev = sh(['losetup', '--find', '--show', '--', img.path]).stdout.trim();
    undo.push(() => void sh(['losetup', '-d', dev]));
    const held = hostObjects();
    const r = sb.flow(['run', 'snapshot-image', '--image', img.path, '--size', '256M', '--cow-size', '32M']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`attached read-write at ${dev}`);
    expect(hostObjects()).toEqual(held);
    expect(sb.runDirEntries()).toEqual([]);
  });
});

describe('snapshot-image failing on the real kernel', () => {
  it('a --name taken by someone else after the preflight: create-snapshot fails (exit 1), automatic rollback, the foreign device untouched', async () => {
    const img = sb.piImage('pi.img', 128);
    const sum = await sha256(img.path);
    const name = `race-${process.pid}-${Date.now()}`;
    // flow pauses before the snapshot step; meanwhile another tool takes the name
    const child = spawn(process.execPath, [MAIN, 'run', 'snapshot-image', '--image', img.path, '--name', name, '--size', '256M', '--cow-size', '32M'], {
      cwd: sb.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, FLOW_STATE_DIR: sb.stateDir, FLOW_RUN_DIR: sb.runDir, FLOW_PAUSE_AT: 'apply:create-snapshot:before-intent:8000' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!/done\s+add-cow/.test(stdout)) {
      if (child.exitCode !== null) throw new Error(`flow ended early:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    sh(['dmsetup', 'create', name, '-u', `OTHER-${name}`], { input: '0 2048 zero\n' });
    undo.push(() => void sh(['dmsetup', 'remove', '--retry', name]));
    expect(await exited, `${stdout}\n${stderr}`).toBe(1);
    expect(stdout).toMatch(/FAILED\s+create-snapshot/);
    expect(stdout).toMatch(/rolling back \(step-failed\)/);
    expect(stderr).toContain('create-snapshot');
    // exactly what was there before, plus the foreign device
    expect(hostObjects()).toEqual({ ...before, dm: [...before.dm, `${name};OTHER-${name}`].sort() });
    expect(dmTable(name)).toEqual(['0 2048 zero']);
    expect(sb.runDirEntries()).toEqual([]);
    expect(await sha256(img.path)).toBe(sum);
  });
});

describe('delayed-device', () => {
  it('creates and formats the file, a 100 ms delay table, mounted -o sync; a synced write takes >= 100 ms; rollback removes the file', () => {
    const file = join(sb.dir, 'slow.img');
    const r = run('delayed-device', ['--file', file, '--size', '64M', '--delay', '100']);
    const { id } = r;
    const { loop, device, mountpoint } = r.outputs as Record<string, string>;
    expect(sh(['blkid', '-p', '-o', 'value', '-s', 'TYPE', file]).stdout.trim()).toBe('ext4');
    expect(dmTable(`flow-${id}`)).toEqual([`0 ${(64 * 1024 * 1024) / 512} delay ${majmin(loop!)} 0 100`]);
    const m = mountOf(mountpoint!);
    expect(m).toMatchObject({ majmin: majmin(device!), fstype: 'ext4' });
    expect(m!.options).toContain('sync');

    const target = join(mountpoint!, 'probe.bin');
    const t0 = performance.now();
    const fd = openSync(target, 'w');
    writeSync(fd, Buffer.alloc(4096, 7));
    fsyncSync(fd);
    closeSync(fd);
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(100);
    rmSync(target);

    rollback(id);
    expect(existsSync(file)).toBe(false);
  });
});

describe('loop-mount --read-only', () => {
  it('attaches read-only, mounts ro with the files visible, refuses writes; rollback leaves nothing and the image unchanged', async () => {
    const src = join(sb.dir, 'src');
    mkdirSync(join(src, 'data'), { recursive: true });
    writeFileSync(join(src, 'data/hello.txt'), 'hello loop\n');
    const file = join(sb.dir, 'rootfs.ext4');
    sh(['truncate', '-s', '32M', file]);
    sh(['mkfs.ext4', '-F', '-q', '-b', '4096', '-d', src, file]);
    const sum = await sha256(file);
    const r = run('loop-mount', ['--file', file, '--read-only']);
    const { loop, mountpoint } = r.outputs as Record<string, string>;
    expect(sh(['losetup', '-J', '-l', '-O', 'NAME,RO', loop!]).stdout).toMatch(/"ro":\s*true/);
    const m = mountOf(mountpoint!);
    expect(m).toMatchObject({ majmin: majmin(loop!), fstype: 'ext4' });
    expect(m!.options).toContain('ro');
    expect(readdirSync(mountpoint!)).toContain('data');
    expect(readFileSync(join(mountpoint!, 'data/hello.txt'), 'utf8')).toBe('hello loop\n');
    expect(() => writeFileSync(join(mountpoint!, 'nope.txt'), 'x')).toThrow(/EROFS/);
    rollback(r.id);
    expect(await sha256(file)).toBe(sum);
  });
});
