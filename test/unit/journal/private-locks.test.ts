/**
 * Locks a local user cannot hold hostage (journal/lock.ts): the host-wide lock directory
 * is flow's own (0700, flow's user, in a parent only root writes), every lock file is a
 * regular file of flow's user. An unprivileged user (uid 65534, through setpriv) tries
 * everything it can: to make the directory first, plant links and files, hold the lock.
 * Needs root (as flow itself).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir, FlockLocks } from '../../../journal/lock.js';
import { StateDirError } from '../../../src/errors.js';

const NOBODY = 65534;
const top = mkdtempSync(join(tmpdir(), 'flow-private-locks-'));
chmodSync(top, 0o755);
afterAll(() => rmSync(top, { recursive: true, force: true }));

/** Runs argv as uid/gid 65534 with no supplementary groups; its exit code and stderr. */
function asNobody(argv: string[]): { code: number | null; stderr: string } {
  const r = spawnSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', '--', ...argv], { encoding: 'utf8' });
  return { code: r.status, stderr: r.stderr };
}

let run = ''; // stands for /run: root's, 0755
let n = 0;
beforeEach(() => {
  run = join(top, `run${n++}`);
  mkdirSync(run, { mode: 0o755 });
});

/** What `fn` throws, as "StateDirError: message". */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return 'no error';
}

describe('ensurePrivateDir (the host-wide lock directory)', () => {
  it('makes it 0700 and flow-owned in a parent only root writes; a second call accepts it', () => {
    const dir = join(run, 'flow-locks');
    ensurePrivateDir(dir);
    const st = lstatSync(dir);
    expect([st.isDirectory(), st.uid, st.mode & 0o777]).toEqual([true, process.geteuid!(), 0o700]);
    ensurePrivateDir(dir);
  });

  it('refuses what another user could have made or can still change, never follows a link, changes nothing', () => {
    const dir = join(run, 'flow-locks');
    const elsewhere = join(run, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o700 });
    const cases: [string, () => void, RegExp][] = [
      ['a symbolic link to a directory', () => symlinkSync(elsewhere, dir), /is a symbolic link; flow does not follow it$/],
      ['a file', () => writeFileSync(dir, ''), /is not a directory$/],
      ['a directory of uid 65534', () => (mkdirSync(dir, { mode: 0o700 }), chownSync(dir, NOBODY, NOBODY)), /is not flow's: owned by uid 65534, mode 0700/],
      ['a directory writable by all', () => (mkdirSync(dir), chmodSync(dir, 0o777)), /is writable by others: .*mode 0777/],
    ];
    for (const [what, plant, message] of cases) {
      plant();
      expect(refusal(() => ensurePrivateDir(dir)), what).toMatch(new RegExp(`^StateDirError: lock directory ${dir} ${message.source}`));
      rmSync(dir, { recursive: true });
    }
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('refuses a parent anybody can write (like /run/lock or /tmp): a user could have put the directory there', () => {
    const open = join(run, 'lock');
    mkdirSync(open);
    chmodSync(open, 0o1777);
    expect(refusal(() => ensurePrivateDir(join(open, 'flow-locks')))).toMatch(/^StateDirError: lock directory .* its parent .*lock is owned by uid 0, mode 1777; it must be a directory of root's that only root can write$/);
    expect(readdirSync(open)).toEqual([]);
  });
});

describe('an unprivileged user (uid 65534) against the host-wide lock', () => {
  it('cannot make the directory first, plant a link in its place, create or hold the lock file: the lock is taken at once', async () => {
    const dir = join(run, 'flow-locks');
    expect(asNobody(['mkdir', dir]).stderr).toMatch(/Permission denied/);
    expect(asNobody(['ln', '-s', '/tmp', dir]).stderr).toMatch(/Permission denied/);
    const locks = new FlockLocks(dir, { privateDir: true });
    await locks.check('flow-alloc');
    const file = join(dir, 'flow-alloc.lock');
    for (const argv of [['touch', file], ['ln', '-s', '/etc/passwd', join(dir, 'x.lock')], ['flock', '--nonblock', file, 'true']]) {
      const r = asNobody(argv);
      expect([r.code === 0, r.stderr], argv.join(' ')).toEqual([false, expect.stringMatching(/Permission denied/)]);
    }
    const release = await locks.acquire('flow-alloc', { wait: false, what: 'the allocation lock' });
    await release();
    expect(readdirSync(dir)).toEqual(['flow-alloc.lock']);
  });
});

describe('lock files (state dir and host)', () => {
  it("one owned by another user is refused, not used: its owner could hold it", async () => {
    const dir = join(run, 'locks');
    mkdirSync(dir, { mode: 0o700 });
    const file = join(dir, 'run-abcd2345.lock');
    writeFileSync(file, '');
    chownSync(file, NOBODY, NOBODY);
    const err = await new FlockLocks(dir).acquire('run-abcd2345', { wait: false, what: 'run abcd2345' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateDirError);
    expect((err as StateDirError).message).toBe(`lock file ${file} is not flow's: owned by uid 65534, mode 0644, flow runs as uid ${process.geteuid!()}`);
    expect((err as StateDirError).hint).toBe(`remove it (rm -- ${file}); flow creates the lock file itself`);
  });
});
