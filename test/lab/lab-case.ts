/**
 * Per-test set-up for the end-to-end lab tests: a fresh Sandbox, the host's objects
 * before, and a cleanup that rolls back every run the test started and undoes what the
 * test itself made (foreign devices), then checks the host holds exactly what it held
 * before — also when the test failed half-way.
 */
import { rmSync } from 'node:fs';
import { afterEach, beforeEach, expect } from 'vitest';
import { hostObjects, Sandbox, type HostObjects, type RunJson } from './real-host.js';

export interface LabCase {
  readonly sb: Sandbox;
  readonly before: HostObjects;
  /** `flow run WORKFLOW ARGS --json`, exit 0 expected; rolled back by the cleanup unless `rollback` ran. */
  run(workflow: string, args: string[]): RunJson;
  /** `flow rollback ID`, then nothing of the run may be left on the host. */
  rollback(id: string): void;
  /** Registers an undo for something the test made itself (run in reverse order). */
  undo(fn: () => void): void;
  /** Registers a run the test started itself (e.g. with sb.start): the cleanup rolls it back. */
  track(id: string): void;
  /** The run is gone (rolled back or never made): the cleanup leaves it alone. */
  untrack(id: string): void;
  /** Registers a repair run before the cleanup's rollbacks (e.g. give a full state filesystem its space back). */
  heal(fn: () => void): void;
}

export function labCase(): LabCase {
  let sb: Sandbox;
  let before: HostObjects;
  let runs: string[] = [];
  let undos: (() => void)[] = [];
  let heals: (() => void)[] = [];

  beforeEach(() => {
    sb = new Sandbox();
    before = hostObjects();
    runs = [];
    undos = [];
    heals = [];
  }, 120_000);

  afterEach(async () => {
    await sb.settle();
    const errors: string[] = [];
    for (const fn of heals.reverse()) {
      try {
        fn();
      } catch (err) {
        errors.push(String(err));
      }
    }
    for (const id of runs.reverse()) {
      const r = sb.flow(['rollback', id]);
      if (r.code !== 0) errors.push(`flow rollback ${id}: exit ${r.code}: ${r.stderr}`);
    }
    for (const fn of undos.reverse()) {
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
  }, 900_000); // rolling back many runs on an emulated CPU takes minutes

  return {
    get sb() {
      return sb;
    },
    get before() {
      return before;
    },
    run(workflow, args) {
      const out = sb.run(workflow, args);
      runs.push(out.id);
      return out;
    },
    rollback(id) {
      expect(sb.rollback(id).status).toBe('rolled-back');
      runs = runs.filter((r) => r !== id);
      const now = hostObjects();
      expect(now).toEqual(before);
      expect(now.dm.filter((d) => d.includes(id))).toEqual([]);
      expect(sb.runDirEntries()).toEqual([]);
    },
    undo(fn) {
      undos.push(fn);
    },
    track(id) {
      if (!runs.includes(id)) runs.push(id);
    },
    untrack(id) {
      runs = runs.filter((r) => r !== id);
    },
    heal(fn) {
      heals.push(fn);
    },
  };
}
