/**
 * SIGKILL at every point of `flow exec` and of `flow export`, on the real kernel (issue #11
 * §5), lab only:
 *   npm run build && scripts/lab run -q --mem 3072 --timeout 1800 -- npx vitest run --project lab test/lab/customize-kill-real.test.ts
 * One done pi-image run (file-backed COWs) over a small image made by scripts/make-pi-image,
 * set up once; its root given a static busybox as /bin/sh so `flow exec` can run a command.
 * The points are the ones the built CLI reaches (FLOW_CRASH_AT=list) when it runs `flow exec`
 * and `flow export` once each, checked to be exactly what the in-process matrix enumerates
 * for the internal run's steps (src/verify/matrix.ts: the start points, applyPoints,
 * undoPoints of the journaled definitions), plus the points it does not enumerate (the
 * run's finish and its rollback's finish: finish:*, finish-rollback:*) and export's own
 * named instants (export:*), which are killed here too. At
 * every point flow is SIGKILLed (where a command runs, once flow alone, once with the
 * command's process group: sigkill-matrix.ts's cases); then what a user runs: `flow
 * recover` (for a few export points the next `flow export` instead). After each: the whole
 * host as before (no bind mount left, the parent run's loops, dm devices and mounts, and the
 * foreign loop and mount, unchanged), a write into the run's root completes (not frozen), no
 * temporary file beside the export target, the target only if the export had linked it
 * (and then the reference export's bytes), a foreign look-alike temporary file untouched,
 * the parent run done and every internal run rolled back. At the end the original image's
 * sha256 is unchanged. A progress line per point ("killexport <s> exec|export i/n ...").
 * FLOW_LAB_KILL_POINTS=REGEX: only the points it matches (for a narrow run).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRunFile } from '../../journal/run-log.js';
import { applyPoints, undoPoints } from '../../src/engine/crash-points.js';
import { fold } from '../../src/engine/fold.js';
import { requireLab } from './lab-env.js';
import { partitionTable as table, ROOT, sh, sha256, type PartitionTableJson } from './real-host.js';
import { flowCli, globalView, hostRaw, run, testSnapshot, waitGone, type Proc } from './sigkill-host.js';
import { envOf, specsOf, type Spec } from './sigkill-matrix.js';

requireLab();

const CASE_MS = 1_700_000;
const root = mkdtempSync(join(tmpdir(), 'flow-lab-ck-'));
const lane = { dir: root, stateDir: join(root, 'state'), runDir: join(root, 'run') };
const outDir = join(root, 'out');
const image = join(root, 'pi.img');
const only = process.env.FLOW_LAB_KILL_POINTS ? new RegExp(process.env.FLOW_LAB_KILL_POINTS) : undefined;
/** a file named as flow names an export's temporary file, of a run that is not flow's: never touched */
const FOREIGN_TEMP = join(outDir, '.killed.img.flow-export-zzzzzzzz.tmp');
const KILLED = join(outDir, 'killed.img');
const NEXT = join(outDir, 'next.img');
/** export points whose killed state the next `flow export` settles (the others: `flow recover`) */
const BY_NEXT_EXPORT = /^(start-synced|apply:create-temp:command-done|apply:freeze-1:outcome-synced|export:copying|export:copied)$/;
const EXEC_COMMAND = ['/bin/sh', '-c', 'echo ran > /tmp/exec-ran'];

/** undone in this order after the file (the parent run first, then the foreign objects) */
const cleanups: (() => unknown)[] = [];
const started = Date.now();
let parent = '';
let mnt = '';
let imageSum = '';
/** the reference export's size and partition table (made once the parent run is set up) */
let ref: { size: number; table: PartitionTableJson } = { size: 0, table: { id: '', label: '', partitions: [] } };
let baseline: string[] = [];
const lists: Record<'exec' | 'export', { cli: string[]; expected: string[]; specs: Spec[] }> = {
  exec: { cli: [], expected: [], specs: [] },
  export: { cli: [], expected: [], specs: [] },
};
const times: Record<string, number> = {};

const secs = () => (((Date.now() - started) / 1000) | 0).toString().padStart(5);

async function flow(args: string[], extra: Record<string, string> = {}): Promise<Proc> {
  return flowCli(lane, args, extra);
}

async function must(args: string[], extra: Record<string, string> = {}): Promise<Proc> {
  const r = await flow(args, extra);
  if (r.code !== 0) throw new Error(`flow ${args.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr}${r.stdout}`);
  return r;
}

interface Listed {
  id: string;
  workflow: string;
  status: string;
}
async function runs(): Promise<Listed[]> {
  return JSON.parse((await must(['list', '--json'])).stdout) as Listed[];
}

/** Every run's status read from its journal in this process (a CLI start per point costs seconds in the lab; `flow list` says the same). */
function journaledRuns(): Listed[] {
  const dir = join(lane.stateDir, 'runs');
  return readdirSync(dir)
    .filter((n) => /^[a-z2-9]{8}\.json$/.test(n))
    .map((n) => {
      const id = n.slice(0, 8);
      const f = fold(id, parseRunFile(readFileSync(join(dir, n)), id, join(dir, n)).doc.events);
      return { id, workflow: f.state.workflow, status: f.phase };
    });
}

/** The points a run of an internal workflow has, as the in-process matrix enumerates them from its journaled steps. */
function matrixPoints(id: string): string[] {
  const file = join(lane.stateDir, 'runs', `${id}.json`);
  const defs = fold(id, parseRunFile(readFileSync(file), id, file).doc.events).defs;
  return ['start-written', 'start-renamed', 'start-synced', ...applyPoints(defs), ...undoPoints(defs)];
}

const pointsOf = (p: Proc) => [...p.stderr.matchAll(/^crash-point (\S+)$/gm)].map((m) => m[1]!);
const childrenOf = (p: Proc) => new Set([...p.stderr.matchAll(/^crash-child (\S+) /gm)].map((m) => m[1]!));

/** A static busybox (this host's architecture) as the root's /bin/sh, and the directories flow exec binds onto: written into the snapshot. */
function execReady(dir: string): void {
  for (const d of ['bin', 'dev', 'proc', 'sys', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  symlinkSync('busybox', join(dir, 'bin/sh'));
  writeFileSync(join(dir, 'etc/resolv.conf'), "nameserver 192.0.2.99 # the image's own\n");
}

beforeAll(async () => {
  mkdirSync(lane.runDir, { recursive: true });
  mkdirSync(outDir);
  console.error(`killexport: under ${root}; the test build starts from ${(await testSnapshot(root)) ?? 'its code cache'}`);
  sh([join(ROOT, 'scripts/make-pi-image'), image, '128']);
  imageSum = await sha256(image);
  // somebody else's: a tmpfs mount, a read-only loop device on the same image, a file named like flow's temporary file
  const foreignMnt = join(root, 'foreign-mnt');
  mkdirSync(foreignMnt);
  sh(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'lab-foreign', foreignMnt]);
  cleanups.push(() => sh(['umount', foreignMnt]));
  const loop = sh(['losetup', '--find', '--show', '--read-only', image]).stdout.trim();
  cleanups.push(() => sh(['losetup', '-d', loop]));
  writeFileSync(FOREIGN_TEMP, 'not flow\'s\n');

  const r = await must(['run', 'pi-image', '--image', image, '--cow-file', join(root, 'pi.cow'), '--cow-size', '32M', '--boot-cow-size', '8M', '--size', '128M']);
  parent = (await runs()).find((x) => x.workflow === 'pi-image')!.id;
  cleanups.unshift(async () => {
    const rb = await flow(['rollback', parent]);
    if (rb.code !== 0) throw new Error(`rollback of ${parent}: ${rb.stderr}`);
  });
  mnt = join(lane.runDir, parent, 'mnt');
  // a test failing with the root frozen must not leave it so
  cleanups.unshift(() => void sh(['fsfreeze', '-u', '--', mnt], { ok: [0, 1] }));
  expect(existsSync(join(mnt, 'etc/fstab')), r.stdout).toBe(true);
  execReady(mnt);
  baseline = globalView(await hostRaw());

  // the points, as the built CLI reaches them in one uninterrupted exec and one export
  let t = Date.now();
  const e = await must(['exec', parent, '--', ...EXEC_COMMAND], { FLOW_CRASH_AT: 'list' });
  times['exec (listing points)'] = Date.now() - t;
  expect(readFileSync(join(mnt, 'tmp/exec-ran'), 'utf8')).toBe('ran\n');
  const bind = (await runs()).find((x) => x.workflow === 'exec-binds')!;
  lists.exec = { cli: pointsOf(e), expected: matrixPoints(bind.id), specs: [] };
  lists.exec.specs = [...specsOf(lists.exec.cli.filter((p) => !p.startsWith('undo:')), childrenOf(e), 'forward'), ...specsOf(lists.exec.cli.filter((p) => p.startsWith('undo:')), childrenOf(e), 'undo')];
  t = Date.now();
  const x = await must(['export', parent, '--to', join(outDir, 'ref.img')], { FLOW_CRASH_AT: 'list' });
  times['export (listing points)'] = Date.now() - t;
  ref = { size: statSync(join(outDir, 'ref.img')).size, table: table(join(outDir, 'ref.img')) };
  expect(await exportProblems(join(outDir, 'ref.img'))).toEqual([]);
  rmSync(join(outDir, 'ref.img'));
  const temp = (await runs()).find((y) => y.workflow === 'export-temp')!;
  const xp = pointsOf(x);
  lists.export = { cli: xp, expected: matrixPoints(temp.id), specs: [] };
  lists.export.specs = [...specsOf(xp.filter((p) => !p.startsWith('undo:')), childrenOf(x), 'forward'), ...specsOf(xp.filter((p) => p.startsWith('undo:')), childrenOf(x), 'undo')];
  for (const k of ['exec', 'export'] as const) {
    if (only) lists[k].specs = lists[k].specs.filter((s) => only.test(s.point));
    console.error(`killexport: ${k}: ${lists[k].cli.length} points listed (${lists[k].expected.length} in the in-process enumeration), ${lists[k].specs.length} kills`);
  }
}, 900_000);

afterAll(async () => {
  const lines = [`killexport: wall ${secs().trim()} s`];
  for (const [what, ms] of Object.entries(times)) lines.push(`  ${what}: ${(ms / 1000).toFixed(1)} s`);
  for (const fn of cleanups) {
    try {
      await fn();
    } catch (err) {
      lines.push(`cleanup: ${String(err)}`);
    }
  }
  console.log(lines.join('\n'));
  if (!readFileSync('/proc/self/mountinfo', 'utf8').includes(root)) rmSync(root, { recursive: true, force: true });
}, 600_000);


/**
 * What is wrong with an export, as a list: it must be a whole image of the run as it is now.
 * Not a byte comparison with the reference export: every export freezes the root, which
 * writes the time into its superblock, and the checks between the points write into the
 * root (a probe file, the exec command's output), so two correct exports never have the
 * same bytes. So: the reference's size and partition table (identifiers, the enlarged
 * root), each partition's filesystem clean (fsck -n, the ext4 copied frozen: no journal to
 * replay), and the run's files in it (the exec command's output, the root's fstab, the boot
 * partition's cmdline.txt, each as the run's mount holds it now). Read from copies of the
 * partitions, never through a loop device (the host is compared with its baseline).
 */
async function exportProblems(file: string): Promise<string[]> {
  const out: string[] = [];
  const size = statSync(file).size;
  if (size !== ref.size) out.push(`${size} bytes, the reference export ${ref.size}`);
  const t = table(file);
  if (JSON.stringify(t) !== JSON.stringify(ref.table)) return [...out, `partition table ${JSON.stringify(t)}, the reference export's ${JSON.stringify(ref.table)}`];
  const [boot, rootPart] = t.partitions;
  const part = (p: { start: number; size: number }, name: string): string => {
    const f = join(root, name);
    sh(['dd', `if=${file}`, `of=${f}`, 'bs=4M', 'iflag=skip_bytes,count_bytes', `skip=${p.start * 512}`, `count=${p.size * 512}`, 'conv=sparse', 'status=none']);
    return f;
  };
  const b = part(boot!, 'check-boot.part');
  const fat = sh(['fsck.vfat', '-n', '-l', b], { ok: [0, 1] });
  if (fat.code !== 0) out.push(`fsck.vfat -n of partition 1 exited ${fat.code}: ${fat.stdout}${fat.stderr}`);
  const cmdline = sh(['mtype', '-i', b, '::cmdline.txt'], { ok: [0, 1] });
  if (cmdline.stdout !== readFileSync(join(mnt, 'boot/firmware/cmdline.txt'), 'utf8')) out.push(`partition 1's cmdline.txt is ${JSON.stringify(cmdline.stdout)}`);
  rmSync(b);
  const r = part(rootPart!, 'check-root.part');
  const ext = sh(['fsck.ext4', '-n', '-f', r], { ok: [0, 1, 4, 8] });
  if (ext.code !== 0) out.push(`fsck.ext4 -n -f of partition 2 exited ${ext.code}: ${ext.stdout}${ext.stderr}`);
  if (/needs_recovery/.test(/^Filesystem features:(.*)$/m.exec(sh(['dumpe2fs', '-h', r]).stdout)?.[1] ?? '')) out.push('partition 2 was not copied frozen: its journal needs recovery');
  for (const f of ['/tmp/exec-ran', '/etc/fstab']) {
    const got = sh(['debugfs', '-R', `cat ${f}`, r], { ok: [0, 1] }).stdout;
    if (got !== readFileSync(join(mnt, f), 'utf8')) out.push(`partition 2's ${f} is ${JSON.stringify(got)}, the run's ${JSON.stringify(readFileSync(join(mnt, f), 'utf8'))}`);
  }
  rmSync(r);
  return out;
}

/** After a kill at `s` and the recovery: everything the brief's invariants say, as a list of violations. */
async function check(kind: 'exec' | 'export', s: Spec, linked: boolean): Promise<string[]> {
  const out: string[] = [];
  const now = globalView(await hostRaw());
  const gone = baseline.filter((l) => !now.includes(l));
  const extra = now.filter((l) => !baseline.includes(l));
  if (gone.length + extra.length > 0) out.push(`host changed: gone ${JSON.stringify(gone)}, new ${JSON.stringify(extra)}`);
  // not frozen: a write into the run's root completes (it would block on a frozen ext4; timeout's 124 then)
  const probe = join(mnt, 'tmp/kill-probe');
  const w = await run(['timeout', '60', 'touch', '--', probe]);
  if (w.code !== 0) {
    out.push(`a write into ${mnt} did not complete (${w.code}): frozen`);
    sh(['fsfreeze', '-u', '--', mnt], { ok: [0, 1] });
  } else unlinkSync(probe);
  if (kind === 'export') {
    const temps = readdirSync(outDir).filter((n) => n.includes('.flow-export-') && join(outDir, n) !== FOREIGN_TEMP);
    if (temps.length) out.push(`temporary files left: ${temps.join(' ')}`);
    if (readFileSync(FOREIGN_TEMP, 'utf8') !== 'not flow\'s\n') out.push(`${FOREIGN_TEMP} changed`);
    if (existsSync(KILLED) !== linked) out.push(`${KILLED} ${linked ? 'missing though the export had linked it' : 'exists though the export never linked it'}`);
    if (existsSync(KILLED)) {
      out.push(...(await exportProblems(KILLED)).map((p) => `${KILLED}: ${p}`));
      rmSync(KILLED);
    }
  }
  for (const r of journaledRuns()) {
    if (r.id === parent ? r.status !== 'done' : r.status !== 'rolled-back') out.push(`run ${r.id} (${r.workflow}) is ${r.status}`);
  }
  return out.map((v) => `${s.key}: ${v}`);
}

/** Kills flow at every case of `kind`, recovers, checks; returns the violations. */
async function matrix(kind: 'exec' | 'export'): Promise<{ violations: string[]; tried: Set<string> }> {
  const violations: string[] = [];
  const tried = new Set<string>();
  const specs = lists[kind].specs;
  const linkAt = lists[kind].cli.indexOf('export:linked');
  for (const [i, s] of specs.entries()) {
    const t = Date.now();
    const args = kind === 'exec' ? ['exec', parent, '--', ...EXEC_COMMAND] : ['export', parent, '--to', KILLED];
    const k = await flow(args, envOf(s));
    if (k.signal !== 'SIGKILL') {
      violations.push(`${s.key}: flow ${kind} was not killed there (exit ${k.code}): ${k.stderr.slice(-400)}`);
      continue;
    }
    tried.add(s.point);
    // flow alone killed: its command finishes on its own before anyone recovers
    const child = /^crash-kill \S+ flow-alone child (\d+) /m.exec(k.stderr);
    if (child) await waitGone(Number(child[1]), 60_000);
    const linked = kind === 'export' && linkAt >= 0 && lists[kind].cli.indexOf(s.point) >= linkAt;
    let how: string;
    if (kind === 'export' && BY_NEXT_EXPORT.test(s.point)) {
      how = 'next export';
      const n = await flow(['export', parent, '--to', NEXT]);
      if (n.code !== 0) violations.push(`${s.key}: the next flow export exited ${n.code}: ${n.stderr}`);
      else if (!/rolled back export run \w+, left by an export that was killed/.test(n.stderr) && s.point !== 'start-written') violations.push(`${s.key}: the next export did not say it settled the killed one: ${n.stderr}`);
      if (existsSync(NEXT)) {
        violations.push(...(await exportProblems(NEXT)).map((p) => `${s.key}: the next export: ${p}`));
        rmSync(NEXT);
      }
    } else {
      how = 'recover';
      const r = await flow(['recover', '--json']);
      if (r.code !== 0) violations.push(`${s.key}: flow recover exited ${r.code}: ${r.stderr}`);
      else {
        const rec = JSON.parse(r.stdout) as { workflow: string; after: string }[];
        const bad = rec.filter((x) => x.workflow !== (kind === 'exec' ? 'exec-binds' : 'export-temp') || x.after !== 'rolled-back');
        if (bad.length) violations.push(`${s.key}: flow recover: ${JSON.stringify(bad)}`);
      }
    }
    const v = await check(kind, s, linked);
    violations.push(...v);
    console.error(`killexport ${secs()}s ${kind} ${i + 1}/${specs.length} ${s.key}: killed, ${how}, ${v.length ? `${v.length} violations` : 'clean'} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  }
  return { violations, tried };
}

describe.each([['exec'], ['export']] as const)('flow %s killed at every point on the real kernel', (kind) => {
  it('the CLI reaches every point the in-process matrix enumerates for the internal run, and kills at the others too', () => {
    // the start, step and compensation points: exactly the in-process matrix's (src/verify/matrix.ts)
    expect(lists[kind].cli.filter((p) => /^(start-|apply:|undo:)/.test(p))).toEqual(lists[kind].expected);
    // the others, killed here as well: the run's finish and its rollback's finish, and export's own instants
    const others = ['finish:outcome-appended', 'finish:outcome-synced', ...(kind === 'export' ? ['export:copying', 'export:copied', 'export:linked', 'export:renamed'] : []), 'finish-rollback:outcome-appended', 'finish-rollback:outcome-synced'];
    expect(lists[kind].cli.filter((p) => !/^(start-|apply:|undo:)/.test(p)).sort()).toEqual(others.sort());
  });

  it('each point: SIGKILL, then what a user runs; nothing left, nothing frozen, the parent run intact, nothing foreign touched', async () => {
    const t = Date.now();
    const { violations, tried } = await matrix(kind);
    times[`${kind}: ${lists[kind].specs.length} kills + recoveries`] = Date.now() - t;
    expect(violations.slice(0, 10)).toEqual([]);
    expect([...tried].sort()).toEqual([...new Set(lists[kind].specs.map((s) => s.point))].sort());
    if (!only) expect(tried.size).toBe(lists[kind].cli.length);
  }, CASE_MS);
});

describe('afterwards', () => {
  it('the original image is bit-for-bit unchanged and the parent run still done', async () => {
    expect(await sha256(image)).toBe(imageSum);
    expect((await runs()).find((r) => r.id === parent)?.status).toBe('done');
  });
});
