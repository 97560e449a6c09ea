/**
 * flow export on the real kernel, in the lab only, on an image made by scripts/make-pi-image
 * (FAT32 boot partition at 8192, ext4 root, /etc/fstab and cmdline.txt by PARTUUID):
 *   npm run build && scripts/lab run -q -- npx vitest run --project lab test/lab/export-real.test.ts
 * A pi-image run with a file written into each partition, exported: the new image's table
 * keeps the disk identifier and enlarges the root to the snapshot's size, every partition
 * passes fsck -n, the file is there (debugfs, fsck.fat's listing), flow attaches the new
 * image again and shows it; the root's copy is clean (the export froze the mounted ext4:
 * no needs_recovery, no journal to replay); the original's sha256 never changes; a SIGKILL
 * during the copy (the root frozen) followed by `flow recover` leaves no temporary file, no
 * image and no frozen filesystem.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { partitionTable as table, sh, sha256 } from './real-host.js';

requireLab();

const t = labCase();


/** The read-only loop devices over partitions the test attached and has not yet detached. */
const attached = new Set<string>();

/** A read-only loop device over a partition of `img` (detached by `detachAll`, or by the cleanup on a failure). */
function partLoop(img: string, p: { start: number; size: number }): string {
  const dev = sh(['losetup', '--find', '--show', '--read-only', '--offset', String(p.start * 512), '--sizelimit', String(p.size * 512), img]).stdout.trim();
  attached.add(dev);
  t.undo(() => void (attached.delete(dev) && sh(['losetup', '-d', dev])));
  return dev;
}

/** Detaches the partition loops (before a rollback that checks the host is as before). */
function detachAll(): void {
  for (const dev of attached) sh(['losetup', '-d', dev]);
  attached.clear();
}

describe('flow export (real kernel)', () => {
  it('a pi-image run with changes, exported: identifiers kept, root enlarged, fsck clean, the changes there, the original unchanged; SIGKILL + recover leaves nothing', async () => {
    const img = t.sb.piImage('pi.img', 128);
    const before = await sha256(img.path);
    const orig = table(img.path);
    const r = t.run('pi-image', ['--image', img.path, '--cow-file', join(t.sb.dir, 'pi.cow'), '--cow-size', '64M', '--boot-cow-size', '16M', '--size', '256M']);
    const o = r.outputs as Record<string, string>;
    // a test failing with the root frozen must not leave it so (the rollback's umount would keep it frozen)
    t.heal(() => void sh(['fsfreeze', '-u', '--', o.mountpoint!], { ok: [0, 1] }));
    writeFileSync(join(o.mountpoint!, 'home/pi/exported.txt'), 'made in the snapshot\n');
    writeFileSync(join(o['boot-mountpoint']!, 'ssh'), '');

    const out = join(t.sb.dir, 'custom.img');
    const e = t.sb.flow(['export', r.id, '--to', out]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/partition 2 enlarged from \d+ to 524288 sectors/);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    // sparse: far fewer blocks than bytes
    expect(statSync(out).blocks * 512).toBeLessThan(statSync(out).size);

    const nt = table(out);
    expect([nt.label, nt.id]).toEqual(['dos', orig.id]);
    expect(nt.partitions[0]).toEqual(orig.partitions[0]);
    expect(nt.partitions[1]).toEqual({ ...orig.partitions[1], size: 524288 });
    expect(statSync(out).size).toBe((orig.partitions[1]!.start + 524288) * 512);

    const boot = partLoop(out, nt.partitions[0]!);
    const root = partLoop(out, nt.partitions[1]!);
    const fat = sh(['fsck.vfat', '-n', '-l', boot], { ok: [0, 1] });
    expect.soft(fat.code, fat.stdout + fat.stderr).toBe(0);
    expect.soft(fat.stdout).toMatch(/\/ssh\b/);
    expect.soft(fat.stdout).toMatch(/\/cmdline\.txt\b/i);
    const ext = sh(['fsck.ext4', '-n', '-f', root], { ok: [0, 1, 4, 8] });
    expect.soft(ext.code, ext.stdout + ext.stderr).toBe(0);
    // copied frozen: the journal checkpointed, nothing for the next mount to replay
    const features = /^Filesystem features:(.*)$/m.exec(sh(['dumpe2fs', '-h', root]).stdout)?.[1];
    expect(features).toMatch(/has_journal/);
    expect(features).not.toMatch(/needs_recovery/);
    // the grown filesystem fills the enlarged partition
    expect(sh(['dumpe2fs', '-h', root]).stdout).toMatch(new RegExp(`^Block count:\\s+${(524288 * 512) / 4096}$`, 'm'));
    expect(sh(['debugfs', '-R', 'cat /home/pi/exported.txt', root]).stdout).toBe('made in the snapshot\n');
    detachAll();

    // attached again with flow: the change is there
    let again;
    try {
      again = t.run('snapshot-image', ['--image', out, '--partition', '2', '--cow-size', '64M', '--size', '256M']);
    } catch (err) {
      throw new Error(`${String(err)}\nkernel log:\n${sh(['dmesg']).stdout.split('\n').slice(-15).join('\n')}`);
    }
    expect(readFileSync(join((again.outputs as Record<string, string>).mountpoint!, 'home/pi/exported.txt'), 'utf8')).toBe('made in the snapshot\n');
    // not t.rollback: that checks the host is as before the test, and the exported run is still there
    const rb = t.sb.flow(['rollback', again.id]);
    expect(rb.code, rb.stderr).toBe(0);
    t.untrack(again.id);

    // SIGKILL during the copy (the root frozen), then flow recover: no temporary file, no image, the root thawed
    const killed = t.sb.flow(['export', r.id, '--to', join(t.sb.dir, 'killed.img')], { FLOW_CRASH_AT: 'export:copying' });
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const temps = () => readdirSync(t.sb.dir).filter((n) => n.includes('.flow-export-'));
    expect(temps()).toHaveLength(1);
    // frozen: a second FIFREEZE is EBUSY (and changes nothing)
    const again2 = sh(['fsfreeze', '-f', '--', o.mountpoint!], { ok: [0, 1] });
    expect(again2.code, again2.stderr).toBe(1);
    expect(again2.stderr).toMatch(/Device or resource busy/);
    const rec = t.sb.flow(['recover', '--json']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(temps()).toEqual([]);
    expect(existsSync(join(t.sb.dir, 'killed.img'))).toBe(false);
    // thawed: a write into the mount completes (on a frozen filesystem it would block; timeout's 124 then)
    expect(sh(['timeout', '60', 'touch', '--', join(o.mountpoint!, 'home/pi/after-recover')]).code).toBe(0);

    // a second export after more changes: the first export read the whole snapshot device, so its page
    // cache holds those blocks as they were; the file written now went to the device through ext4's own
    // path. Read through that cache, the new file's block was the stale zeros (found by
    // customize-kill-real); flow export drops the device's cache before it reads (blockdev --flushbufs)
    writeFileSync(join(o.mountpoint!, 'home/pi/second.txt'), 'written after the first export\n');
    const out2 = join(t.sb.dir, 'second.img');
    const e2 = t.sb.flow(['export', r.id, '--to', out2]);
    expect(e2.code, e2.stderr).toBe(0);
    const root2 = partLoop(out2, table(out2).partitions[1]!);
    expect(sh(['debugfs', '-R', 'cat /home/pi/second.txt', root2]).stdout).toBe('written after the first export\n');
    expect(sh(['debugfs', '-R', 'cat /home/pi/exported.txt', root2]).stdout).toBe('made in the snapshot\n');
    detachAll();

    t.rollback(r.id);
    expect(await sha256(img.path)).toBe(before);
  }, 600_000);
});
