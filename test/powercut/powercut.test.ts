/**
 * The power-cut tier: real power cuts of the kernel lab's VM, with flow's state directory,
 * its images and backing files on the lab's persistent disk. Runs ON THE HOST, as root:
 * it boots the lab itself (scripts/lab, three boots):
 *   boot 1  round r1: one run per step of every workflow, all at once, each halted inside
 *           its step (FLOW_HALT_AT); when all have halted, the power is cut
 *   boot 2  r1 recovered: every journal read back (flow list/log/show), every run resumed
 *           (exact done state), then rolled back (nothing left); then round r2 is started
 *           like r1 (other points inside each step) plus the fsync mutants (FLOW_DISABLE_SYNC,
 *           each on its own filesystem of the disk), and the power is cut
 *   boot 3  r2 recovered by rollback with the disks in the other order (r2's disk, /dev/vdb
 *           in boot 2, is now /dev/vda: its filesystem's st_dev changes, as when a machine
 *           numbers its disks otherwise at boot): nothing left, images unchanged
 * Every run's stdout goes to the share (on the host: it survives the cut); all checks are
 * made here from what the guest recorded (analyse.ts). See docs/LAB.md, "Power cuts".
 *   npm run build && npx vitest run --project powercut
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_CALLS, type SyncCall } from '../../journal/durability.js';
import { ROOT, sh, sha256 } from '../lab/real-host.js';
import { analyseRound, type RoundResult, type Tally } from './analyse.js';
import { enumerateSteps, forwardPoints, planRound, planText, WORKFLOWS, type PlannedRun, type Step, type Workflow } from './plan.js';

if (process.getuid?.() !== 0) throw new Error('the power-cut tier boots the kernel lab: run it as root on the host (npx vitest run --project powercut)');

const T = mkdtempSync('/tmp/flow-powercut-');
const share = join(T, 'share');
const boots: string[] = [];
const results: RoundResult[] = [];
let steps: Record<Workflow, Step[]>;
let plans: Record<string, PlannedRun[]>;
const t0 = Date.now();
/** The sync calls whose loss a power cut on ext4 can show (see the mutant test below). */
const OBSERVABLE_ON_EXT4: readonly SyncCall[] = ['doc-file', 'doc-dir', 'log-append'];

/** One boot of the lab; returns its exit status (137: the power was cut). */
function boot(disks: string[], actions: string[], cutOn?: string): number {
  const start = Date.now();
  const args = ['run', '-q', '--mem', '3072', '--timeout', '1500', '--share', share, ...disks.flatMap((d) => ['--disk', d]), ...(cutOn ? ['--power-cut-on', cutOn] : []), '--', 'bash', 'test/powercut/guest.sh', ...actions];
  const r = spawnSync(join(ROOT, 'scripts/lab'), args, { cwd: ROOT, encoding: 'utf8', timeout: 1_600_000 });
  boots.push(`${actions.join(' ')}: exit ${r.status}, ${((Date.now() - start) / 1000).toFixed(0)} s`);
  if (r.status !== (cutOn ? 137 : 0)) throw new Error(`scripts/lab ${args.join(' ')} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.status;
}

beforeAll(async () => {
  const images = join(T, 'images');
  mkdirSync(images);
  mkdirSync(join(T, 'enum'));
  sh([join(ROOT, 'scripts/make-pi-image'), join(images, 'pi.img'), '96']);
  const rootfs = join(T, 'rootfs');
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/hostname'), 'powercut\n');
  sh(['truncate', '-s', '16M', join(images, 'rootfs.ext4')]);
  sh(['mkfs.ext4', '-q', '-F', '-b', '4096', '-d', rootfs, join(images, 'rootfs.ext4')]);
  const imageSha = { 'pi.img': await sha256(join(images, 'pi.img')), 'rootfs.ext4': await sha256(join(images, 'rootfs.ext4')) };
  steps = enumerateSteps(join(T, 'enum'), images);
  const enumerated = Object.fromEntries(WORKFLOWS.map((w) => [w, forwardPoints(steps[w]).length])) as Record<Workflow, number>;
  plans = { r1: planRound('r1', steps, 0, []), r2: planRound('r2', steps, 4, SYNC_CALLS) };
  for (const [round, plan] of Object.entries(plans)) {
    mkdirSync(join(share, round), { recursive: true });
    writeFileSync(join(share, round, 'plan'), planText(plan));
    sh([join(ROOT, 'test/powercut/make-disk.sh'), join(T, `${round}.img`), images]);
  }
  boot([join(T, 'r1.img')], ['cut', 'r1', 'vda'], 'r1/cut');
  boot([join(T, 'r1.img'), join(T, 'r2.img')], ['recover', 'r1', 'vda', 'resume', 'cut', 'r2', 'vdb'], 'r2/cut');
  // the disks in the other order: r2's filesystem gets another device number (st_dev), and
  // flow must still know the files it created (inode + birth time, not st_dev)
  boot([join(T, 'r2.img'), join(T, 'r1.img')], ['recover', 'r2', 'vda', 'rollback']);
  results.push(analyseRound({ round: 'r1', how: 'resume', dir: join(share, 'r1'), plan: plans.r1!, enumerated, imageSha }));
  results.push(analyseRound({ round: 'r2', how: 'rollback', dir: join(share, 'r2'), plan: plans.r2!, enumerated, imageSha }));
}, 4_800_000);

afterAll(() => {
  const line = (name: string, t: Tally) =>
    `    ${name.padEnd(15)} points ${t.pointsEnumerated ? `${t.pointsEnumerated} enumerated / ` : ''}${t.pointsTried.size} tried; ` +
    `resumed ${t.resumed}, rolled back ${t.rolledBack}, already clean ${t.alreadyClean}; violations ${t.violations.length}; leaks ${t.leaks.length}`;
  const out = ['', `power-cut tier (real kernel, ${boots.length} boots, ${((Date.now() - t0) / 1000).toFixed(0)} s in all):`, ...boots.map((b) => `  boot ${b}`)];
  for (const r of results) {
    out.push(`  round ${r.round} (${r.how} after the cut):`);
    for (const w of WORKFLOWS) out.push(line(w, r.workflows[w]));
    if (r.general.violations.length + r.general.leaks.length) out.push(line('(shared)', r.general));
    for (const v of [...Object.values(r.workflows), r.general].flatMap((t) => [...t.violations, ...t.leaks]).slice(0, 10)) out.push(`      ! ${v}`);
    for (const h of r.harness) out.push(`      harness: ${h}`);
  }
  const mutants = results.flatMap((r) => Object.entries(r.mutants) as [SyncCall, Tally][]);
  if (mutants.length) {
    out.push(`  fsync mutation score: ${mutants.filter(([, t]) => t.violations.length + t.leaks.length > 0).length}/${SYNC_CALLS.length} mutants caught`);
    for (const [m, t] of mutants) {
      const caught = t.violations.length + t.leaks.length > 0;
      out.push(`    no ${m} sync: ${caught ? 'caught' : `NOT caught${OBSERVABLE_ON_EXT4.includes(m) ? '' : ' (not observable on ext4: the first fsync of a run document commits the mkdirs; caught by the in-process tier)'}`} (${t.pointsTried.size} runs cut; ${t.violations.length} violations, ${t.leaks.length} leaks${caught ? `; e.g. ${[...t.violations, ...t.leaks][0]!.slice(0, 200)}` : ''})`);
    }
  }
  console.log(out.join('\n'));
  if (process.env.FLOW_POWERCUT_KEEP) console.log(`kept ${T}`);
  else rmSync(T, { recursive: true, force: true });
});

const round = (name: string) => {
  const r = results.find((x) => x.round === name);
  if (!r) throw new Error(`round ${name} did not run`);
  return r;
};

describe('power cuts on the real kernel', () => {
  it.each([['r1', 'resume'], ['r2', 'rollback']])('round %s: every run cut inside a step, then %s: journals read back, printed outcomes kept, exact end state', (name) => {
    const r = round(name!);
    expect(r.harness).toEqual([]);
    expect(r.general.violations).toEqual([]);
    expect(r.general.leaks).toEqual([]);
    for (const w of WORKFLOWS) {
      const t = r.workflows[w];
      expect(t.violations, w).toEqual([]);
      expect(t.leaks, w).toEqual([]);
      // one cut inside each step of the workflow
      const cutSteps = new Set([...t.pointsTried].map((p) => p.split(':')[1]));
      expect([...cutSteps].sort(), w).toEqual(steps[w].map((s) => s.name).sort());
      expect(t.resumed + t.rolledBack, w).toBeGreaterThan(0);
    }
  });

  it('the rounds cut each step at different points', () => {
    const r1 = plans.r1!.filter((p) => !p.mutant).map((p) => `${p.workflow} ${p.point}`);
    const r2 = plans.r2!.filter((p) => !p.mutant).map((p) => `${p.workflow} ${p.point}`);
    expect(r1).toHaveLength(WORKFLOWS.reduce((n, w) => n + steps[w].length, 0));
    expect(r1.filter((p) => r2.includes(p))).toEqual([]);
  });

  /**
   * The 'state-dir' sync (the parent's fsync after flow mkdirs the state directory and its
   * runs/ and locks/) cannot be observed by a power cut on ext4: flow prints nothing
   * before its first fsync of a run's log, and on ext4 (journal or no-journal mode)
   * that fsync also commits the earlier mkdirs. The call is kept because POSIX does not
   * promise that; the simulated filesystem of the in-process tier (test/unit/journal,
   * test/crash) drops the un-synced mkdir and catches this mutant there. Here it is run
   * and reported, and its survival is not asserted either way.
   */
  it.each(OBSERVABLE_ON_EXT4.map((c) => [c]))('fsync mutant: without the %s sync a power cut loses something the tier sees', (call) => {
    const t = round('r2').mutants[call];
    expect(t, 'the mutant ran').toBeDefined();
    expect(round('r2').harness).toEqual([]);
    expect(t!.violations.length + t!.leaks.length, `mutant ${call} survived`).toBeGreaterThan(0);
  });

  it('every sync call of the journal was run as a mutant in the power-cut round', () => {
    expect(Object.keys(round('r2').mutants).sort()).toEqual([...SYNC_CALLS].sort());
  });
});
