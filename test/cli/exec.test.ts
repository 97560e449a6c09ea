/**
 * `flow exec` on the fake kernel: the refusals (nothing changes), the command's exit code
 * as flow's, the bind run journaled and rolled back (also when the command fails, also
 * after flow is SIGKILLed during the command: `flow recover`). The fake root is a plain
 * directory (the run's mountpoint), and the test build runs the command there without a
 * chroot (src/testing/exec-runner.ts), with FLOW_EXEC_ROOT naming it.
 */
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostMachine } from '../../src/exec/elf.js';
import { openPersistedFakeKernel } from '../../src/kernel/fake/persisted.js';
import { realFs } from '../../src/fs/real.js';
import { expectHostUnchanged, expectRefused, kernelText, runId, Sandbox } from './harness.js';

/** An ELF header of `machine` (e_machine), enough for flow's probe. */
function elf(eMachine: number): Buffer {
  const b = Buffer.alloc(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  b.writeUInt16LE(2, 16);
  b.writeUInt16LE(eMachine, 18);
  return b;
}
const HOST_EM = ({ x86_64: 62, aarch64: 183 } as Record<string, number>)[hostMachine() ?? ''] ?? 62;
const AARCH64 = 183;
/** qemu-user-static's aarch64 entry as /proc/sys/fs/binfmt_misc shows it (flags given). */
const qemuAarch64 = (flags: string) =>
  `enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: ${flags}\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n`;

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

/** A done snapshot-image run whose (fake) root holds what a Linux root holds; its id and root. */
function rootRun(opts: { em?: number; resolv?: 'file' | 'symlink' | 'none'; empty?: boolean } = {}): { id: string; root: string } {
  const r = sb.flow(['run', 'snapshot-image', '--image', sb.piImage(), '--size', '128M', '--cow-size', '16M']);
  expect(r.code, r.stderr).toBe(0);
  const id = runId(r);
  const root = join(sb.runDir, id, 'mnt');
  if (opts.empty) return { id, root };
  // dev/pts: what the bind of the host's /dev shows there (the fake kernel's mounts change no directory)
  for (const d of ['dev', 'dev/pts', 'proc', 'sys', 'etc', 'bin', 'run']) mkdirSync(join(root, d));
  writeFileSync(join(root, 'bin', 'busybox'), elf(opts.em ?? HOST_EM));
  symlinkSync('busybox', join(root, 'bin', 'sh'));
  if ((opts.resolv ?? 'file') === 'file') writeFileSync(join(root, 'etc', 'resolv.conf'), 'nameserver 192.0.2.1\n');
  if (opts.resolv === 'symlink') symlinkSync('../run/systemd/resolve/stub-resolv.conf', join(root, 'etc', 'resolv.conf'));
  return { id, root };
}

const mounts = (text: string): string[] => (JSON.parse(text) as { mounts: { target: string }[] }).mounts.map((m) => m.target).sort();
const status = (id: string) => {
  const r = sb.flow(['list', '--json']);
  return (JSON.parse(r.stdout) as { id: string; workflow: string; status: string }[]).filter((x) => x.id !== id);
};

describe('flow exec: the command in the root, its exit code, the binds rolled back', () => {
  it.each([0, 7, 1])('exit %i of the command is flow exit; the binds were in place while it ran and are gone after', (code) => {
    const { id, root } = rootRun();
    const before = mounts(kernelText(sb));
    const seen = join(sb.dir, 'kernel-during.json');
    const r = sb.flow(['exec', id, '--', 'sh', '-c', `cp "$FLOW_FAKE_KERNEL" ${seen}; echo hello > "$FLOW_EXEC_ROOT/hello"; exit ${code}`]);
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toBe('');
    expect(readFileSync(join(root, 'hello'), 'utf8')).toBe('hello\n');
    expect(mounts(readFileSync(seen, 'utf8'))).toEqual([...before, ...['dev', 'dev/pts', 'proc', 'sys', 'etc/resolv.conf'].map((d) => join(root, d))].sort());
    expect(mounts(kernelText(sb))).toEqual(before);
    // the binds were a run of their own, journaled and rolled back
    expect(status(id)).toEqual([expect.objectContaining({ workflow: 'exec-binds', status: 'rolled-back' })]);
  });

  it('a command killed by a signal: 128 + its number', () => {
    const { id } = rootRun();
    const r = sb.flow(['exec', id, '--', 'sh', '-c', 'kill -TERM $$']);
    expect(r.code, r.stderr).toBe(128 + 15);
    expect(status(id)).toEqual([expect.objectContaining({ status: 'rolled-back' })]);
  });

  it("the image's /etc/resolv.conf is a symbolic link: not bound (mount would follow it on the host), said on stderr", () => {
    const { id, root } = rootRun({ resolv: 'symlink' });
    const seen = join(sb.dir, 'kernel-during.json');
    const r = sb.flow(['exec', id, '--', 'sh', '-c', `cp "$FLOW_FAKE_KERNEL" ${seen}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^flow: the image's \/etc\/resolv.conf is a symbolic link \(to \.\.\/run\/systemd\/resolve\/stub-resolv.conf\): the host's resolver configuration is not bound there/);
    expect(mounts(readFileSync(seen, 'utf8'))).not.toContain(join(root, 'etc/resolv.conf'));
    expect(mounts(readFileSync(seen, 'utf8'))).toContain(join(root, 'proc'));
  });

  it('SIGKILL of flow while the command runs: the binds stay journaled, and flow recover removes them', () => {
    const { id, root } = rootRun();
    const before = mounts(kernelText(sb));
    // the command kills flow (its parent) and ends
    const r = sb.flow(['exec', id, '--', 'sh', '-c', 'kill -KILL $PPID']);
    expect(r.signal).toBe('SIGKILL');
    expect(mounts(kernelText(sb))).toContain(join(root, 'dev/pts'));
    // another exec before the recovery would bind over the left binds: refused, naming the way out
    const again = sb.flow(['exec', id, '--', 'true']);
    expectRefused(again, new RegExp(`${root}/dev, ${root}/dev/pts, .* are already mounted: flow exec binds there`), /flow recover/);
    // flow doctor names the left bind run; flow prune never forgets it (its binds are mounted)
    const runs = () => JSON.parse(sb.flow(['list', '--json']).stdout) as { id: string; workflow: string; status: string }[];
    const binds = runs().find((l) => l.workflow === 'exec-binds')!;
    expect(binds.status).toBe('done');
    const doc = sb.flow(['doctor']);
    expect(doc.stdout + doc.stderr).toContain(`${binds.id} (the binds of a flow exec that was killed)`);
    const pr = sb.flow(['prune', '--older-than', '0s', '--dry-run', '--json']);
    expect(JSON.parse(pr.stdout)).toContainEqual(expect.objectContaining({ id: binds.id, action: 'kept', reason: expect.stringContaining('flow recover') }));
    expect(runs().map((l) => l.id)).toContain(binds.id);
    const rec = sb.flow(['recover', '--policy', 'resume', '--json']);
    expect(rec.code, rec.stderr).toBe(0);
    expect(JSON.parse(rec.stdout)).toEqual([expect.objectContaining({ workflow: 'exec-binds', before: 'done', after: 'rolled-back', action: 'rollback' })]);
    expect(mounts(kernelText(sb))).toEqual(before);
    // the run's own root is untouched, and exec works again
    expect(sb.flow(['exec', id, '--', 'true']).code).toBe(0);
  });
});

describe('flow exec refuses before anything changes', () => {
  const unchanged = (act: () => void) => expectHostUnchanged(sb, act);

  it('an unknown run id', () => {
    rootRun();
    unchanged(() => expectRefused(sb.flow(['exec', 'zzzzzzzz', '--', 'true']), /no run zzzzzzzz/, /flow list/));
  });

  it("an exec's own bind run", () => {
    const { id } = rootRun();
    expect(sb.flow(['exec', id, '--', 'true']).code).toBe(0);
    const bid = status(id)[0]!.id;
    unchanged(() => expectRefused(sb.flow(['exec', bid, '--', 'true']), new RegExp(`run ${bid} is the bind run of a flow exec, not a run with a root`), /flow list/));
  });

  it('a run that is not done', () => {
    const { id } = rootRun({ empty: true });
    expect(sb.flow(['rollback', id]).code).toBe(0);
    unchanged(() => expectRefused(sb.flow(['exec', id, '--', 'true']), new RegExp(`run ${id} is rolled-back, not done`), /flow run/));
  });

  it('a run whose devices a reboot took', async () => {
    const { id } = rootRun();
    await (await openPersistedFakeKernel(sb.kernelFile, realFs)).reboot();
    unchanged(() => expectRefused(sb.flow(['exec', id, '--', 'true']), new RegExp(`run ${id} was made before the host rebooted`), new RegExp(`flow resume ${id}`)));
  });

  it('a root without /proc', () => {
    const { id, root } = rootRun();
    rmSync(join(root, 'proc'), { recursive: true });
    unchanged(() => expectRefused(sb.flow(['exec', id, '--', 'true']), /mnt\/proc is missing: flow exec binds the host's \/proc/, /root of a Linux system/));
  });

  it('a /dev that is a symbolic link (a mount onto it would follow it on the host)', () => {
    const { id, root } = rootRun();
    rmSync(join(root, 'dev'), { recursive: true });
    symlinkSync('/tmp', join(root, 'dev'));
    unchanged(() => expectRefused(sb.flow(['exec', id, '--', 'true']), /mnt\/dev is a symbolic link \(to \/tmp\)/, /out of the image/));
  });

  it.each([
    ['no binfmt_misc entry', undefined, /no binfmt_misc entry is registered for it/],
    ['an entry without F', 'POC', /lacks the F flag/],
  ])('an aarch64 image, %s: refused with the fix', (_what, flags, reason) => {
    const { id } = rootRun({ em: AARCH64 });
    const binfmt = join(sb.dir, 'binfmt');
    mkdirSync(binfmt);
    writeFileSync(join(binfmt, 'status'), 'enabled\n');
    writeFileSync(join(binfmt, 'register'), '');
    if (flags !== undefined) writeFileSync(join(binfmt, 'qemu-aarch64'), qemuAarch64(flags));
    unchanged(() => {
      const r = sb.flow(['exec', id, '--', 'true'], { FLOW_BINFMT_DIR: binfmt });
      expectRefused(r, /the image's \/bin\/sh is a aarch64 \(arm64\) program and this host is x86_64: it cannot run there/, /apt-get install qemu-user-static binfmt-support/);
      expect(r.stderr).toMatch(reason);
    });
  });

  it('an aarch64 image with qemu registered with F: the command runs', () => {
    const { id } = rootRun({ em: AARCH64 });
    const binfmt = join(sb.dir, 'binfmt');
    mkdirSync(binfmt);
    writeFileSync(join(binfmt, 'status'), 'enabled\n');
    writeFileSync(join(binfmt, 'qemu-aarch64'), qemuAarch64('POCF'));
    const r = sb.flow(['exec', id, '--', 'sh', '-c', 'exit 3'], { FLOW_BINFMT_DIR: binfmt });
    expect(r.code, r.stderr).toBe(3);
  });

  it('another flow holds the run: exit 4', async () => {
    const { id } = rootRun();
    const holder = sb.spawnPaused(['rollback', id], 'undo:mount:before-intent', 60_000);
    await holder.reached;
    try {
      expectRefused(sb.flow(['exec', id, '--', 'true']), new RegExp(`run ${id}`), /.*/, 4);
    } finally {
      holder.child.kill('SIGKILL');
      await holder.closed;
    }
  });
});
