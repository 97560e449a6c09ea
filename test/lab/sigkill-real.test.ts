/**
 * The real-kernel tier of the crash matrix: the built CLI is SIGKILLed (FLOW_CRASH_AT, test
 * only) at every named point of every step and every compensation of every workflow
 * (snapshot-image, delayed-device, loop-mount), as the CLI itself lists them; each point is
 * followed by `flow resume` and, separately, by `flow rollback`, on the real kernel, with the
 * invariants I1-I7 of crash-model.md checked against what the kernel holds — including
 * objects the test made beforehand that no run may touch (a second, read-only loop device on
 * the same image, a dm device, a zram device, a mount). At the points where a command runs,
 * once flow alone is killed (the command finishes after flow is gone) and once the command's
 * process group too (FLOW_CRASH_GROUP). How the invocations are chained to fit the budget:
 * sigkill-matrix.ts. Then the half-done kernel states a crash inside one command leaves (a
 * dm device holding the name with no table; a zram device added but not sized; a mount
 * written to after the crash), made with dmsetup / sysfs.
 * The matrix runs on its lanes in the background from beforeAll; each workflow has one case
 * per phase (enumeration; forward points then resume; forward points then rollback;
 * compensation points; the whole) that waits for its phase and fails on that phase's
 * violations, and every job prints a progress line ("sigkill <s> lane <n> <workflow> ...").
 * What npm test runs is the `kinds` scope (sigkill-matrix.ts Scope): every step kind killed
 * at every primary point in one workflow that has it; `--env FLOW_LAB_SIGKILL_SCOPE=every`
 * is the whole matrix (every point of every workflow, ~60 min of a VM).
 * Lab only: scripts/lab run -q --mem 3072 --timeout 4200 -- npx vitest run --project lab test/lab/sigkill-real.test.ts
 * One workflow: --env FLOW_LAB_SIGKILL_ONLY=loop-mount -- ... -t loop-mount.
 * FLOW_LAB_LANES (default 2): how many runs go side by side. FLOW_LAB_SIGKILL_LOG=1: a line per invocation.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmUuid } from '../../machines/types.js';
import { requireLab } from './lab-env.js';
import { hostObjects, ROOT, Sandbox, sh, sha256, type HostObjects } from './real-host.js';
import { globalView, hostRaw, must, testSnapshot, type Raw } from './sigkill-host.js';
import { scopeFromEnv, SigkillMatrix, type Figures, type Lane, type Phase } from './sigkill-matrix.js';
import { CrashMatrix } from '../../src/verify/matrix.js';
import { SCENARIOS } from '../support/scenarios.js';
import { subjectOf } from '../crash/subject.js';

/** How many points the in-process matrix (test/crash, fake kernel) enumerates for a workflow: the CLI must list as many. */
const inProcess = new Map<string, number>();
async function inProcessPoints(name: string): Promise<number> {
  if (!inProcess.has(name)) {
    const m = new CrashMatrix(subjectOf(SCENARIOS.find((s) => s.workflow === name)!));
    await m.prepare();
    inProcess.set(name, m.figures.pointsEnumerated);
  }
  return inProcess.get(name)!;
}

requireLab();

const LANES = Number(process.env.FLOW_LAB_LANES ?? 2);
/** `kinds` (npm test) or `every` (the whole matrix, by hand): sigkill-matrix.ts Scope */
const SCOPE = scopeFromEnv();
/** A matrix case waits for its phase; the matrix runs in the background from beforeAll. */
const CASE_MS = 2_900_000; // a ceiling under its VM's 4200 s timeout (scripts/lab.d/tier.sh), with room for the files after it
// in the order their phases usually finish (the smallest first)
const WORKFLOWS = [
  { name: 'loop-mount', zram: false },
  { name: 'delayed-device', zram: false },
  { name: 'snapshot-image', zram: true },
].filter((w) => !process.env.FLOW_LAB_SIGKILL_ONLY || process.env.FLOW_LAB_SIGKILL_ONLY.split(',').includes(w.name));

const root = mkdtempSync(join(tmpdir(), 'flow-lab-sk-'));
const cleanups: (() => void)[] = [];
let matrix: SigkillMatrix;
/** the matrix running on its lanes (started by beforeAll, awaited by the cases) */
let running: Promise<void> = Promise.resolve();
let runError: unknown;
let imageSums: [string, string][] = [];
let wallMs = 0;
const special: string[] = [];

function undoLater(fn: () => void): void {
  cleanups.push(fn);
}

/** Objects that belong to somebody else, made before the matrix: they must stay exactly as they are. */
async function setup(): Promise<{ lanes: Lane[]; baseline: string[] }> {
  // a zram device and a mount of somebody else
  const zid = readFileSync('/sys/class/zram-control/hot_add', 'utf8').trim();
  undoLater(() => {
    writeFileSync(`/sys/block/zram${zid}/reset`, '1');
    writeFileSync('/sys/class/zram-control/hot_remove', zid);
  });
  writeFileSync(`/sys/block/zram${zid}/disksize`, String(8 << 20));
  const foreignMnt = join(root, 'foreign-mnt');
  console.error(`sigkill matrix: ${LANES} lanes under ${root}`);
  mkdirSync(foreignMnt);
  sh(['mount', '-t', 'tmpfs', '-o', 'size=1m', 'lab-foreign', foreignMnt]);
  undoLater(() => sh(['umount', foreignMnt]));
  const zramBefore = new Set(readdirSync('/sys/block').filter((n) => /^zram\d+$/.test(n)));

  const blob = await testSnapshot(root);
  console.error(`sigkill matrix: the test build's invocations start from ${blob ?? 'its code cache (FLOW_LAB_SIGKILL_SNAPSHOT=0)'}`);
  const pi = join(root, 'pi.img');
  sh([join(ROOT, 'scripts/make-pi-image'), pi, '128']);
  const lanes: Lane[] = [];
  for (let i = 0; i < LANES; i++) {
    const dir = join(root, `lane${i}`);
    mkdirSync(join(dir, 'run'), { recursive: true });
    const img = join(dir, 'pi.img');
    const ext = join(dir, 'rootfs.ext4');
    sh(['cp', '--sparse=always', pi, img]);
    sh(['truncate', '-s', '32M', ext]);
    sh(['mkfs.ext4', '-F', '-q', '-b', '4096', '-L', `lane${i}`, ext]);
    // a second, read-only loop device on each image, and a dm device over one of them
    const loopImg = sh(['losetup', '--find', '--show', '--read-only', img]).stdout.trim();
    undoLater(() => sh(['losetup', '-d', loopImg]));
    const loopExt = sh(['losetup', '--find', '--show', '--read-only', ext]).stdout.trim();
    undoLater(() => sh(['losetup', '-d', loopExt]));
    const dmName = `lab-foreign-${i}`;
    const majmin = readFileSync(`/sys/block/${loopImg.replace('/dev/', '')}/dev`, 'utf8').trim();
    await must(['dmsetup', 'create', dmName, '-u', `LAB-FOREIGN-${i}`], `0 8192 linear ${majmin} 0\n`);
    undoLater(() => sh(['dmsetup', 'remove', dmName]));
    const foreignDm = `0 8192 linear ${majmin} 0`;
    lanes.push({
      index: i,
      dir,
      stateDir: join(dir, 'state'),
      runDir: join(dir, 'run'),
      foreignLoops: new Set([loopImg.replace('/dev/', ''), loopExt.replace('/dev/', ''), loopImg, loopExt]),
      zramBefore,
      ownsZram: false,
      busy: false,
      inputs: {
        'snapshot-image': { args: ['--image', img, '--size', '192M', '--cow-size', '16M'], created: [] },
        'delayed-device': { args: ['--file', join(dir, 'slow.img'), '--size', '32M', '--delay', '0'], created: [join(dir, 'slow.img')] },
        // read-only: flow refuses a file already attached read-write, and the foreign loop is there
        'loop-mount': { args: ['--file', ext, '--read-only'], created: [] },
      },
      foreignCheck(r: Raw): string[] {
        const out: string[] = [];
        for (const [dev, file] of [
          [loopImg, img],
          [loopExt, ext],
        ] as const) {
          const l = r.loops.find((x) => x.name === dev);
          if (!l || l.back !== file || !['1', 'true'].includes(l.ro)) out.push(`foreign loop ${dev} on ${file} changed: ${JSON.stringify(l)}`);
        }
        const d = r.dm.find((x) => x.name === dmName);
        if (!d || d.uuid !== `LAB-FOREIGN-${i}` || d.table.join('|') !== foreignDm) out.push(`foreign dm ${dmName} changed: ${JSON.stringify(d)}`);
        const z = r.zram.find((x) => x.name === `zram${zid}`);
        if (!z || z.disksize !== String(8 << 20)) out.push(`foreign zram${zid} changed: ${JSON.stringify(z)}`);
        if (!r.mounts.some((m) => m.target === foreignMnt && m.fstype === 'tmpfs')) out.push(`foreign mount ${foreignMnt} is gone`);
        return out;
      },
    });
  }
  imageSums = await Promise.all(lanes.map(async (l): Promise<[string, string]> => [l.inputs['snapshot-image']!.args[1]!, await sha256(l.inputs['snapshot-image']!.args[1]!)]));
  return { lanes, baseline: globalView(await hostRaw()) };
}

beforeAll(async () => {
  const started = Date.now();
  const { lanes, baseline } = await setup();
  matrix = new SigkillMatrix(lanes, async () => baseline, WORKFLOWS, false, SCOPE);
  // not awaited here: each case below waits for its own workflow and phase, so progress shows case by case
  running = matrix.runAll().then(
    () => void (wallMs = Date.now() - started),
    (err: unknown) => void (runError = err),
  );
}, 600_000);

afterAll(async () => {
  await running;
  for (const fn of cleanups.reverse()) {
    try {
      fn();
    } catch (err) {
      console.log(`cleanup: ${String(err)}`);
    }
  }
  if (!hostObjects().mounts.some((m) => m.includes(root))) rmSync(root, { recursive: true, force: true });
  if (!matrix) return;
  const lines = ['', `SIGKILL tier (built CLI, real kernel): scope ${SCOPE}, ${LANES} lanes, wall ${(wallMs / 1000).toFixed(0)} s, load average now ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`];
  for (const f of [...matrix.wfs.values()].map((w) => w.fig)) lines.push(...figureLines(f));
  lines.push(`  global checks (whole host as before, foreign objects included): ${matrix.globalChecks.count}, violations ${matrix.globalChecks.violations.length}`);
  lines.push(`  half-done kernel states: ${special.length} recovered exactly (${special.join('; ')})`);
  // where the lanes' time went: what to cut next
  const laneMs = wallMs * LANES;
  lines.push(`  lane time by activity (${LANES} lanes x ${(wallMs / 1000).toFixed(0)} s wall):`);
  for (const [what, e] of [...matrix.profile].sort((a, b) => b[1].ms - a[1].ms)) {
    lines.push(`    ${(e.ms / 1000).toFixed(0).padStart(6)} s ${laneMs ? ((100 * e.ms) / laneMs).toFixed(0).padStart(3) : '  -'} %  ${String(e.n).padStart(5)} x ${(e.ms / Math.max(1, e.n) / 1000).toFixed(2)} s  ${what}`);
  }
  console.log(lines.join('\n'));
}, CASE_MS);

function figureLines(f: Figures): string[] {
  const w = matrix.wfs.get(f.workflow)!;
  const fwdPrimary = w.forward.filter((s) => s.primary).length;
  const undoPrimary = w.undo.filter((s) => s.primary).length;
  return [
    `  ${f.workflow}: points ${f.enumerated} enumerated (${f.forwardPoints} forward incl. start, ${f.undoPoints} compensation; in-process matrix: ${inProcess.get(f.workflow) ?? '-'}), ${f.inScope} in scope, ${f.triedPoints.size} tried` +
      `; ${f.childPoints} command-running points with a child → ${f.specs} cases (${w.forward.length} forward, ${w.undo.length} compensation; primary ${fwdPrimary} / ${undoPrimary})`,
    `    forward cases followed by resume ${w.forward.filter((s) => f.resumeAfter.has(s.key)).length}/${w.forward.length}, by rollback ${w.forward.filter((s) => f.rollbackAfter.has(s.key)).length}/${fwdPrimary} primary;` +
      ` compensation cases followed by rollback ${w.undo.filter((s) => f.rollbackAfter.has(s.key)).length}/${w.undo.length}, resume refused at ${f.refusedAfter.size} points, in ${f.refusedSteps.size}/${new Set(w.undo.map((s) => s.step)).size} compensation steps` +
      `; recoveries finished: resumed ${f.resumed}, rolled back ${f.rolledBack}, already clean ${f.alreadyClean}`,
    `    kills: plain ${f.kills.plain}, flow alone ${f.kills.alone} (child outlived flow ${f.childOutlivedFlow}), process group ${f.kills.group} (child died ${f.childKilledWithGroup}); longest wait for a killed command ${(f.childWaitMaxMs / 1000).toFixed(1)} s` +
      `; I5 second recoveries ${f.i5}; invocations ${f.invocations} in ${f.episodes} episodes (${f.misses} predictions missed); operator stops played ${f.operatorStops}; lane time ${(f.wallMs / 1000).toFixed(0)} s`,
    `    violations ${f.violations.length}, leaks ${f.leaks}${f.otherPoints.length ? `; other points listed, not in the matrix: ${[...new Set(f.otherPoints.map((p) => p.replace(/:outcome-\w+$/, '')))].join(' ')}` : ''}`,
    ...f.violations.slice(0, 8).map((v) => `    ! ${v}`),
  ];
}

/** Waits until nothing more can happen in this phase of this workflow (or the matrix ended). */
async function phase(name: string, p: Phase | 'enumerate'): Promise<Figures> {
  await matrix.whenDone(name, p);
  if (runError) throw runError;
  return matrix.wfs.get(name)!.fig;
}

describe.each(WORKFLOWS.map((w) => [w.name, w] as const))(`%s killed at every point in scope (${SCOPE}) on the real kernel`, (name) => {
  it('the CLI lists every point of every step and compensation (as many as the in-process matrix)', async () => {
    const f = await phase(name, 'enumerate');
    expect(f.enumerated).toBe(await inProcessPoints(name));
  }, CASE_MS);

  it('forward points (and the start), each killed, then resumed (chained: the resume is killed at the next point); I1-I4, I6, I7', async () => {
    const f = await phase(name, 'resume');
    expect(f.byPhase.resume.slice(0, 5)).toEqual([]);
    const w = matrix.wfs.get(name)!;
    expect(w.forward.filter((s) => !f.resumeAfter.has(s.key)).map((s) => s.key)).toEqual([]);
  }, CASE_MS);

  it('forward points, each killed, then rolled back (the primary points; SECONDARY in sigkill-matrix.ts); I1-I4, I7', async () => {
    const f = await phase(name, 'rollback');
    expect(f.byPhase.rollback.slice(0, 5)).toEqual([]);
    const w = matrix.wfs.get(name)!;
    expect(w.forward.filter((s) => s.primary && !f.rollbackAfter.has(s.key)).map((s) => s.key)).toEqual([]);
  }, CASE_MS);

  it('compensation points, each killed during a rollback, then rolled back (chained); resume refused in every compensation step', async () => {
    const f = await phase(name, 'undo');
    expect(f.byPhase.undo.slice(0, 5)).toEqual([]);
    const w = matrix.wfs.get(name)!;
    expect(w.undo.filter((s) => !f.rollbackAfter.has(s.key)).map((s) => s.key)).toEqual([]);
    // resume refused in every compensation step (once per step: it reads only the journal's phase)
    expect([...new Set(w.undo.filter((s) => s.primary).map((s) => s.step!))].filter((st) => !f.refusedSteps.has(st))).toEqual([]);
  }, CASE_MS);

  it('every point in scope tried with a real SIGKILL, flow alone and with its command; no violation, no leak', async () => {
    await running;
    if (runError) throw runError;
    const f = matrix.wfs.get(name)!.fig;
    expect(f.violations.slice(0, 5)).toEqual([]);
    expect(f.leaks).toBe(0);
    expect(f.triedPoints.size).toBe(f.inScope);
    if (SCOPE === 'every') expect(f.inScope).toBe(f.enumerated);
    // both kills wherever a command runs at a point in scope
    const variants = new Set([...matrix.wfs.get(name)!.forward, ...matrix.wfs.get(name)!.undo].map((s) => s.variant));
    if (variants.has('group')) expect(f.kills.group).toBeGreaterThan(0);
    if (variants.has('alone')) expect(f.kills.alone).toBeGreaterThan(0);
    if (SCOPE === 'every') expect([...variants].sort()).toEqual(['alone', 'group', 'plain']);
    // I5 on the real kernel after both kinds of recovery
    expect([...f.i5Kinds].sort()).toEqual(['resume', 'rollback']);
  }, CASE_MS);
});

describe('the host after the matrix', () => {
  it('equals the host before (foreign objects untouched) at every quiet moment, and the images are unchanged', async () => {
    await running;
    if (runError) throw runError;
    expect(matrix.globalChecks.violations).toEqual([]);
    expect(matrix.globalChecks.count).toBeGreaterThan(0);
    // every step kind was killed at each of its primary points (and command variants) in some workflow
    expect(matrix.untriedKindPoints()).toEqual([]);
    for (const [img, sum] of imageSums) expect(await sha256(img), img).toBe(sum);
  }, CASE_MS);
});

// ---------------------------------------------------------------- half-done kernel states

const image = () => matrix.lanes[0]!.inputs['snapshot-image']!.args[1]!;
const args = () => ['run', 'snapshot-image', '--image', image(), '--size', '192M', '--cow-size', '16M'];

function listRuns(sb: Sandbox): string[] {
  const r = sb.flow(['list', '--json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as { id: string }[]).map((x) => x.id) : [];
}

/** Runs `body` in a fresh sandbox; afterwards the host must be as before (best-effort rollback first on failure). */
function inSandbox(body: (sb: Sandbox, before: HostObjects) => void): void {
  const sb = new Sandbox();
  const before = hostObjects();
  let ok = false;
  try {
    body(sb, before);
    ok = true;
  } finally {
    if (!ok) for (const r of listRuns(sb)) sb.flow(['rollback', r]);
    const after = hostObjects();
    if (!after.mounts.some((m) => m.includes(sb.dir))) rmSync(sb.dir, { recursive: true, force: true });
    if (ok) expect(after).toEqual(before);
  }
}

function recover(sb: Sandbox, id: string, how: 'resume' | 'rollback', before: HostObjects): void {
  const rec = sb.flow([how, id]);
  expect(rec.code, `${rec.stdout}\n${rec.stderr}`).toBe(0);
  if (how === 'resume') {
    expect(rec.stdout).toContain(`run ${id}: done`);
    expect(hostObjects().mounts.filter((m) => m.includes(sb.runDir))).toHaveLength(1);
    const back = sb.flow(['rollback', id]);
    expect(back.code, back.stderr).toBe(0);
  } else {
    expect(rec.stdout).toContain(`run ${id}: rolled-back`);
  }
  expect(hostObjects()).toEqual(before);
  expect(readdirSync(sb.runDir)).toEqual([]);
}

describe('half-done kernel states a crash inside one command leaves', () => {
  // they compare the whole host before and after: not while the matrix runs
  beforeAll(() => running, CASE_MS);

  it.each([['resume'], ['rollback']])('dmsetup create killed between create and load (name held, no table) at create-base, then %s', (how) => {
    inSandbox((sb, before) => {
      const r = sb.flow(args(), { FLOW_CRASH_AT: 'apply:create-base:intent-synced' });
      expect(r.signal).toBe('SIGKILL');
      const [id] = listRuns(sb);
      sh(['dmsetup', 'create', `flow-${id}-base`, '-u', dmUuid(id!, 'create-base'), '--notable']);
      expect(sh(['dmsetup', 'info', '-c', '--noheadings', '-o', 'attr', `flow-${id}-base`]).stdout.trim()).toBe('---w');
      recover(sb, id!, how as 'resume' | 'rollback', before);
      special.push(`dm create half done → ${how}`);
    });
  });

  // A zram device added in the window (flow's hot_add done, the disksize not written, or
  // another program's hot_add) cannot be told from another program's: flow stops for the
  // operator and leaves it untouched (README, "How recovery works"); after the operator, exact.
  it.each([['resume'], ['rollback']])('zram hot_add done, disksize not written, at add-cow: flow stops for the operator, the device untouched; after the operator, %s is exact', (how) => {
    inSandbox((sb, before) => {
      const r = sb.flow(args(), { FLOW_CRASH_AT: 'apply:add-cow:intent-synced' });
      expect(r.signal).toBe('SIGKILL');
      const [id] = listRuns(sb);
      const zid = sh(['cat', '/sys/class/zram-control/hot_add']).stdout.trim();
      const seq = sh(['cat', `/sys/block/zram${zid}/diskseq`]).stdout.trim();
      const stop = sb.flow([how, id!]);
      expect(stop.code, `${stop.stdout}\n${stop.stderr}`).toBe(3);
      expect(stop.stderr).toContain(`needs an operator at step add-cow`);
      expect(stop.stderr).toContain(`# only if /dev/zram${zid} (diskseq ${seq}) is this run's`);
      expect(sh(['cat', `/sys/block/zram${zid}/diskseq`]).stdout.trim()).toBe(seq);
      expect(sh(['cat', `/sys/block/zram${zid}/initstate`]).stdout.trim()).toBe('0');
      writeFileSync('/sys/class/zram-control/hot_remove', zid);
      const resolved = sb.flow(['resolve', id!, '--step', 'add-cow', '--as', 'absent']);
      expect(resolved.code, resolved.stderr).toBe(0);
      recover(sb, id!, how as 'resume' | 'rollback', before);
      special.push(`zram added, not sized → operator → ${how}`);
    });
  });

  it('mount(2) done, outcome lost, a file written meanwhile: rollback unmounts (the writes go with the COW)', () => {
    inSandbox((sb, before) => {
      const r = sb.flow(args(), { FLOW_CRASH_AT: 'apply:mount:command-done' });
      expect(r.signal).toBe('SIGKILL');
      const [id] = listRuns(sb);
      writeFileSync(`${sb.runDir}/${id}/mnt/after-crash.txt`, 'x');
      recover(sb, id!, 'rollback', before);
      special.push('mounted and written, outcome lost → rollback');
    });
  });
});
