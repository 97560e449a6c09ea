/**
 * What the power-cut tier cuts at: the points of every workflow, enumerated from the CLI
 * (`flow plan --json` with the fake kernel, on the host: the same preflight and step
 * definitions), and each round's runs, one run per point.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { STEP_POINTS } from '../../src/engine/crash-points.js';
import type { SyncCall } from '../../journal/durability.js';
import { TEST_ENTRY } from '../lab/real-host.js';

export type Workflow = 'snapshot-image' | 'delayed-device' | 'loop-mount';
export const WORKFLOWS: Workflow[] = ['snapshot-image', 'delayed-device', 'loop-mount'];

/** Filesystems of a round's disk, in partition order (guest.sh mounts them at /pc/ROUND/NAME). */
export type Fs = 'main' | SyncCall;

export interface Step {
  name: string;
  kind: string;
}

export interface PlannedRun {
  label: string;
  fs: Fs;
  point: string;
  mutant: SyncCall | undefined;
  workflow: Workflow;
  args: string[];
}

/** The arguments of each workflow's runs (files on the round's disk). */
export function runArgs(wf: Workflow, round: string, fs: Fs, label: string): string[] {
  switch (wf) {
    case 'snapshot-image':
      return ['--image', `/pc/${round}/img/pi.img`, '--size', '256M', '--cow-size', '32M'];
    case 'delayed-device':
      return ['--file', `/pc/${round}/${fs}/${label}.img`, '--size', '16M', '--delay', '20'];
    case 'loop-mount':
      return ['--file', `/pc/${round}/img/rootfs.ext4`, '--read-only'];
  }
}

/** The steps of each workflow, from `flow plan --json` (fake kernel, on the host's copies of the inputs). */
export function enumerateSteps(dir: string, images: string): Record<Workflow, Step[]> {
  const out = {} as Record<Workflow, Step[]>;
  for (const wf of WORKFLOWS) {
    const args = runArgs(wf, 'x', 'main', 'plan').map((a) => a.replace('/pc/x/img', images).replace('/pc/x/main', dir));
    const r = spawnSync(process.execPath, [TEST_ENTRY, 'plan', wf, ...args, '--json'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, FLOW_FAKE_KERNEL: join(dir, 'fake-kernel.json'), FLOW_RUN_DIR: join(dir, 'no-such-run-dir'), FLOW_STATE_DIR: join(dir, 'state') },
    });
    if (r.status !== 0) throw new Error(`flow plan ${wf} exited ${r.status}: ${r.stderr}`);
    out[wf] = (JSON.parse(r.stdout) as { steps: Step[] }).steps.map((s) => ({ name: s.name, kind: s.kind }));
  }
  return out;
}

/** Every point of a forward run: its first event, each step's points, its last event. */
export function forwardPoints(steps: Step[]): string[] {
  // the new log is created whole (temp file, rename, directory fsync); every later event is appended
  const created = ['written', 'renamed', 'synced'].map((x) => `start-${x}`);
  const appended = ['appended', 'synced'].map((x) => `finish:outcome-${x}`);
  return [...created, ...steps.flatMap((s) => STEP_POINTS.map((p) => `apply:${s.name}:${p}`)), ...appended];
}

/** The points inside a step (after its intent began, before its outcome is durable and shown). */
const INSIDE = ['intent-appended', 'intent-synced', 'command-running', 'command-done', 'outcome-appended', 'outcome-synced'] as const;

/**
 * A real `dmsetup create` gives flow no "running" moment (the fake kernel has one inside
 * its create): on the real kernel dm.create never reaches command-running.
 */
function reachable(kind: string, p: string): boolean {
  return !(kind === 'dm.create' && p === 'command-running');
}

/**
 * One run per step of every workflow, each halted inside its step; the sub-point rotates
 * over the steps and `offset` shifts it from round to round, so the rounds together cut
 * at different moments of each step.
 */
export function insidePoints(steps: Record<Workflow, Step[]>, offset: number): { workflow: Workflow; point: string }[] {
  const out: { workflow: Workflow; point: string }[] = [];
  let k = 0;
  for (const wf of WORKFLOWS) {
    for (const s of steps[wf]) {
      let i = k++ + offset;
      while (!reachable(s.kind, INSIDE[i % INSIDE.length]!)) i++;
      out.push({ workflow: wf, point: `apply:${s.name}:${INSIDE[i % INSIDE.length]!}` });
    }
  }
  return out;
}

/**
 * The runs of one fsync mutant: each halts where an event has been shown and the next
 * sync has not happened yet (the moment a missing sync loses something). doc-file and
 * doc-dir make a new log durable: their run is alone on its filesystem and halts once its
 * id is printed (RunStarted shown), before its first append: any later fsync on that
 * filesystem, of this run or of another, commits ext4's journal and the rename with it
 * (round r2 of 2026-12-03 had three runs there and did not catch doc-dir). log-append: after
 * outcomes were appended.
 */
export function mutantPoints(m: SyncCall): { workflow: Workflow; point: string }[] {
  if (m === 'doc-file' || m === 'doc-dir') return [{ workflow: 'loop-mount', point: 'apply:attach-file:before-intent' }];
  return [
    { workflow: 'loop-mount', point: 'apply:mount:before-intent' },
    { workflow: 'snapshot-image', point: 'apply:create-base:intent-appended' },
  ];
}

export function planRound(round: string, steps: Record<Workflow, Step[]>, offset: number, mutants: readonly SyncCall[]): PlannedRun[] {
  const runs: PlannedRun[] = [];
  const short = { 'snapshot-image': 's', 'delayed-device': 'd', 'loop-mount': 'l' } as const;
  insidePoints(steps, offset).forEach(({ workflow, point }, i) => {
    const label = `${short[workflow]}${i}`;
    runs.push({ label, fs: 'main', point, mutant: undefined, workflow, args: runArgs(workflow, round, 'main', label) });
  });
  for (const m of mutants) {
    mutantPoints(m).forEach(({ workflow, point }, i) => {
      const label = `${m}-${short[workflow]}${i}`;
      runs.push({ label, fs: m, point, mutant: m, workflow, args: runArgs(workflow, round, m, label) });
    });
  }
  return runs;
}

/** The plan file guest.sh reads: `label fs point mutant|- workflow args...` per line. */
export function planText(runs: PlannedRun[]): string {
  return runs.map((r) => [r.label, r.fs, r.point, r.mutant ?? '-', r.workflow, ...r.args].join(' ')).join('\n') + '\n';
}
