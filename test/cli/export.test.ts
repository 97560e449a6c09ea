/**
 * `flow export` on the fake kernel, through the CLI: a new image with the snapshots'
 * content, the grown root's entry enlarged, identifiers unchanged, sparse, the original
 * untouched; the refusals (nothing changes); and SIGKILL at every instant of the export
 * followed by `flow recover` (or the next export): no temporary file, and FILE only when
 * the rename completed. The test build reads the fake kernel's snapshot devices through
 * its seam (src/testing/seam-from-env.ts); everything else is real files.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { realFs } from '../../src/fs/real.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { buildTestImage } from '../../src/kernel/fake/test-image.js';
import { expectHostUnchanged, expectRefused, runId, Sandbox } from './harness.js';
import { onPty } from './pty.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const MiB = 1 << 20;
const DISK_ID = 0x5452574f;
const FSTAB = 'PARTUUID=5452574f-01  /boot/firmware  vfat  defaults  0  2\nPARTUUID=5452574f-02  /  ext4  defaults  0  1\n';
const BOOT = { start: 8192, sectors: 65536 };
const ROOT = { start: 73728, sectors: 122880 };

/** A Raspberry-Pi-OS-like image (96 MiB: FAT32 p1, ext4 p2 up to its end), optionally a p3 right after the root. */
async function piImage(name = 'pi.img', p3 = false): Promise<string> {
  const p = join(sb.dir, name);
  await buildTestImage(realFs, p, {
    size: (p3 ? 128 : 96) * MiB,
    diskId: DISK_ID,
    partitions: [
      { type: 'c', startSector: BOOT.start, sizeSectors: BOOT.sectors, vfat: { volumeId: '1234abcd', label: 'bootfs' } },
      { type: '83', startSector: ROOT.start, sizeSectors: ROOT.sectors, ext: { blockSize: 4096, uuid: '11111111-2222-4333-8444-555555555555', label: 'rootfs', files: { '/etc/fstab': FSTAB, '/boot/firmware/': '' } } },
      ...(p3 ? [{ type: '83', startSector: ROOT.start + ROOT.sectors, sizeSectors: 2048 }] : []),
    ],
  });
  return p;
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');
const at = (p: string, offset: number, n: number) => readFileSync(p).subarray(offset, offset + n).toString();

interface Sfdisk {
  partitiontable: { label: string; id: string; partitions: { node: string; start: number; size: number; type: string }[] };
}
const sfdisk = (p: string): Sfdisk['partitiontable'] => (JSON.parse(spawnSync('sfdisk', ['--json', p], { encoding: 'utf8' }).stdout) as Sfdisk).partitiontable;

/** A done pi-image run (root snapshot 128 MiB: grown) with a file-backed COW; its id. */
function piRun(image: string): string {
  const r = sb.flow(['run', 'pi-image', '--image', image, '--size', '128M', '--cow-size', '32M', '--boot-cow-size', '8M', '--cow-file', join(sb.dir, 'pi.cow')]);
  expect(r.code, r.stderr).toBe(0);
  return runId(r);
}

/** Writes into the run's snapshots as a program in the mounted image would. */
async function change(id: string): Promise<void> {
  const k = await openPersistedFakeKernel(sb.kernelFile, realFs);
  await k.writeDevice(`/dev/mapper/flow-${id}`, 5 * MiB, Buffer.from('written into the root'));
  // beyond the original partition: only the grown root holds it
  await k.writeDevice(`/dev/mapper/flow-${id}`, 100 * MiB, Buffer.from('in the grown part'));
  await k.writeDevice(`/dev/mapper/flow-${id}-boot`, 1 * MiB, Buffer.from('written into boot'));
  // Linux marks a FAT it mounts read-write dirty (bit 0 of byte 0x41 of a FAT32 boot sector)
  await k.writeDevice(`/dev/mapper/flow-${id}-boot`, 0x41, Uint8Array.of(0x01));
}

const temps = () => readdirSync(sb.dir).filter((n) => /\.flow-export-.*\.tmp$/.test(n));
/** The fake kernel's frozen mounts (fsfreeze -f), as the last CLI process left them. */
const frozen = () => (JSON.parse(readFileSync(sb.kernelFile, 'utf8')) as { mounts: { target: string; frozen?: boolean }[] }).mounts.filter((m) => m.frozen).map((m) => m.target);
/** The state's log lines of freezes and thaws, in order. */
const freezeLog = () => (JSON.parse(readFileSync(sb.kernelFile, 'utf8')) as { log: string[] }).log.filter((l) => /^filesystems\.(freeze|thaw)/.test(l));
const runs = () => JSON.parse(sb.flow(['list', '--json']).stdout) as { id: string; workflow: string; status: string }[];

describe('flow export: a new image from a done run', () => {
  it('pi-image: both snapshots, the root enlarged, the identifiers and the rest of the original unchanged, sparse; the original untouched', async () => {
    const image = await piImage();
    const before = sha(image);
    const id = piRun(image);
    await change(id);
    const out = join(sb.dir, 'custom.img');
    const r = sb.flow(['export', id, '--to', 'custom.img']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^exported run ${id} to ${out}: ${(ROOT.start + 262144) * 512} bytes .*partition 2 enlarged from ${ROOT.sectors} to 262144 sectors\\n$`));
    const t = sfdisk(out);
    expect([t.label, t.id]).toEqual(['dos', '0x5452574f']);
    expect(t.partitions.map((p) => [p.start, p.size, p.type])).toEqual([
      [BOOT.start, BOOT.sectors, 'c'],
      [ROOT.start, 262144, '83'],
    ]);
    expect(statSync(out).size).toBe((ROOT.start + 262144) * 512);
    expect(at(out, ROOT.start * 512 + 5 * MiB, 21)).toBe('written into the root');
    expect(at(out, ROOT.start * 512 + 100 * MiB, 17)).toBe('in the grown part');
    expect(at(out, BOOT.start * 512 + MiB, 17)).toBe('written into boot');
    // what the run did not change is the original's (the boot partition's first MiB; the root's superblock the online grow rewrote),
    // and the copy of the mounted FAT is clean again, as an unmount would leave it
    const orig = readFileSync(image);
    const copy = readFileSync(out);
    expect(copy[BOOT.start * 512 + 0x41]).toBe(0);
    expect(copy.subarray(BOOT.start * 512, BOOT.start * 512 + MiB).equals(orig.subarray(BOOT.start * 512, BOOT.start * 512 + MiB))).toBe(true);
    // the MBR: only partition 2's size and CHS end differ
    const diff = [...Array(512).keys()].filter((i) => copy[i] !== orig[i]);
    expect(diff.every((i) => i >= 446 + 16 + 5 && i < 446 + 32)).toBe(true);
    // sparse: a few MiB of data in a 164 MiB file
    expect(statSync(out).blocks * 512).toBeLessThan(8 * MiB);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(sha(image)).toBe(before);
    expect(temps()).toEqual([]);
    expect(runs().filter((x) => x.id !== id)).toEqual([expect.objectContaining({ workflow: 'export-temp', status: 'rolled-back' })]);
    // the mounted ext4 root was frozen for the copy and thawed after; the FAT (no FIFREEZE) never
    const mnt = join(sb.runDir, id, 'mnt');
    expect(freezeLog()).toEqual([expect.stringMatching(new RegExp(`^filesystems\\.freeze ${mnt} → ok`)), expect.stringMatching(new RegExp(`^filesystems\\.thaw ${mnt} → ok`))]);
    expect(frozen()).toEqual([]);
  });

  it('progress on a terminal only: none on a pipe (above), a percentage up to 100% on a pty', async () => {
    const id = piRun(await piImage());
    const r = await onPty(sb, ['export', id, '--to', 'tty.img']);
    expect(r.code, r.raw).toBe(0);
    expect(r.raw).toMatch(/\rexporting: +\d+% \(\d+ of \d+ MiB\)/);
    expect(r.raw).toMatch(/\rexporting: 100% \(\d+ of \d+ MiB\)\r?\n/);
    expect(r.raw).toMatch(/exported run \w+ to .*tty\.img/);
  });

  it('snapshot-image of a whole image without a table: the snapshot is the image', async () => {
    const image = sb.extImage();
    const r0 = sb.flow(['run', 'snapshot-image', '--image', image, '--size', '64M', '--cow-size', '16M']);
    expect(r0.code, r0.stderr).toBe(0);
    const id = runId(r0);
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).writeDevice(`/dev/mapper/flow-${id}`, 40 * MiB, Buffer.from('grown'));
    const r = sb.flow(['export', id, '--to', 'whole.img']);
    expect(r.code, r.stderr).toBe(0);
    const out = join(sb.dir, 'whole.img');
    expect(statSync(out).size).toBe(64 * MiB);
    expect(at(out, 40 * MiB, 5)).toBe('grown');
  });
});

describe('flow export in help and completion', () => {
  it('completes a run id and a FILE for --to', () => {
    const r = sb.flow(['completion', 'bash']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/'export\|0'[^\n]*\) echo 'id'/);
    expect(r.stdout).toMatch(/'export\|--to'\) echo 'file'/);
    expect(sb.flow(['--help']).stdout).toMatch(/^ {2}export \[options\] <id> +write a new complete disk image/m);
  });
});

describe('flow export refuses before anything changes', () => {
  const unchanged = (act: () => void) => expectHostUnchanged(sb, act);

  it('FILE exists, its directory is missing, FILE is the source image, an unknown id', async () => {
    const image = await piImage();
    const id = piRun(image);
    writeFileSync(join(sb.dir, 'taken.img'), 'mine');
    unchanged(() => expectRefused(sb.flow(['export', id, '--to', 'taken.img']), /taken\.img exists: flow export never replaces a file/, /remove it or give another path/));
    unchanged(() => expectRefused(sb.flow(['export', id, '--to', 'nowhere/new.img']), /nowhere does not exist/, /mkdir -p/));
    unchanged(() => expectRefused(sb.flow(['export', id, '--to', image]), /is the run's source image: flow export never writes the original/, /another path/));
    unchanged(() => expectRefused(sb.flow(['export', 'zzzzzzzz', '--to', 'new.img']), /no run zzzzzzzz/, /flow list/));
    for (const bad of ['../abcdefgh', `../runs/${id}`, '/etc/passwd']) unchanged(() => expectRefused(sb.flow(['export', bad, '--to', 'new.img']), /is not a run id/, /flow list/));
  });

  it('a run of another workflow, a rolled-back run, a run whose devices a reboot took', async () => {
    const other = sb.flow(['run', 'delayed-device', '--file', join(sb.dir, 'slow.img'), '--size', '16M', '--no-mount']);
    expect(other.code, other.stderr).toBe(0);
    const oid = runId(other);
    unchanged(() => expectRefused(sb.flow(['export', oid, '--to', 'new.img']), new RegExp(`run ${oid} is a run of delayed-device: flow export writes an image from a run of snapshot-image or pi-image`), /flow list/));
    const image = await piImage();
    const id = piRun(image);
    expect(sb.flow(['rollback', id]).code).toBe(0);
    unchanged(() => expectRefused(sb.flow(['export', id, '--to', 'new.img']), new RegExp(`run ${id} is rolled-back, not done`), /flow run/));
    const id2 = piRun(image);
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).reboot();
    unchanged(() => expectRefused(sb.flow(['export', id2, '--to', 'new.img']), new RegExp(`run ${id2} was made before the host rebooted`), new RegExp(`flow resume ${id2}`)));
  });

  it('FILE inside the run\'s mounted snapshot (frozen while the export writes)', async () => {
    const id = piRun(await piImage());
    unchanged(() => expectRefused(sb.flow(['export', id, '--to', join(sb.runDir, id, 'mnt', 'x.img')]), /x\.img is inside the run's mounted snapshot .*\/mnt: flow export freezes it/, /outside the run's mounts/));
  });

  it('a root another program froze: refused, and that freeze left alone (flow never thaws what it did not freeze)', async () => {
    const id = piRun(await piImage());
    const mnt = join(sb.runDir, id, 'mnt');
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).filesystems.freeze(mnt);
    const r = sb.flow(['export', id, '--to', 'new.img']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${mnt} is frozen by another program \\(fsfreeze\\)`));
    expect(r.stderr).toMatch(new RegExp(`fsfreeze -u -- ${mnt}\\), export again`));
    expect(frozen()).toEqual([mnt]);
    expect(temps()).toEqual([]);
    expect(existsSync(join(sb.dir, 'new.img'))).toBe(false);
    expect(runs().filter((x) => x.id !== id)).toEqual([expect.objectContaining({ workflow: 'export-temp', status: 'rolled-back' })]);
  });

  it('a partition right after the root, which the grown root would overlap', async () => {
    const id = piRun(await piImage('p3.img', true));
    unchanged(() => expectRefused(sb.flow(['export', id, '--to', 'new.img']), /partition 2 grows to 262144 sectors .* over partition 3/, /--size that fits/));
  });
});

describe('SIGKILL during an export, then flow recover (or the next export)', () => {
  it.each([
    ['export:copying', false],
    ['export:copied', false],
    ['export:linked', true],
    ['export:renamed', true],
  ])('killed at %s: recover leaves no temporary file, and FILE only when it had its name (%s), complete', async (point, named) => {
    const image = await piImage();
    const before = sha(image);
    const id = piRun(image);
    await change(id);
    expect(sb.flow(['export', id, '--to', 'ref.img']).code).toBe(0);
    const r = sb.flow(['export', id, '--to', 'new.img'], { FLOW_CRASH_AT: point });
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(temps().length).toBe(point === 'export:renamed' ? 0 : 1);
    // killed with the root frozen (the copy and what follows it run frozen)
    const mnt = join(sb.runDir, id, 'mnt');
    expect(frozen()).toEqual([mnt]);
    // flow doctor names the left export run; flow prune never forgets it (its temporary file may remain)
    const left = runs().find((l) => l.workflow === 'export-temp' && l.status !== 'rolled-back')!;
    expect(left.status).toBe('done');
    const doc = sb.flow(['doctor']);
    expect(doc.stdout + doc.stderr).toContain(`${left.id} (the temporary file of a flow export that was killed)`);
    const pr = sb.flow(['prune', '--older-than', '0s', '--dry-run', '--json']);
    expect(JSON.parse(pr.stdout)).toContainEqual(expect.objectContaining({ id: left.id, action: 'kept' }));
    const rec = sb.flow(['recover', '--json']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toEqual([expect.objectContaining({ workflow: 'export-temp', after: 'rolled-back', action: 'rollback' })]);
    expect(temps()).toEqual([]);
    expect(frozen()).toEqual([]);
    const out = join(sb.dir, 'new.img');
    expect(existsSync(out)).toBe(named);
    if (named) expect(sha(out)).toBe(sha(join(sb.dir, 'ref.img')));
    expect(sha(image)).toBe(before);
    // the run itself is untouched: it exports again
    expect(sb.flow(['export', id, '--to', 'again.img']).code).toBe(0);
  });

  it('the next export removes the temporary file a killed one left', async () => {
    const id = piRun(await piImage());
    expect(sb.flow(['export', id, '--to', 'new.img'], { FLOW_CRASH_AT: 'export:copying' }).signal).toBe('SIGKILL');
    expect(temps().length).toBe(1);
    const r = sb.flow(['export', id, '--to', 'new.img']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^flow: rolled back export run \w+, left by an export that was killed \(its temporary file removed\)\n$/);
    expect(temps()).toEqual([]);
    expect(frozen()).toEqual([]);
    expect(existsSync(join(sb.dir, 'new.img'))).toBe(true);
  });
});
