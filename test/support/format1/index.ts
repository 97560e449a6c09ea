/**
 * Format-1 runs for the tests: the frozen TypeScript definitions (machines/*.ts) started in a
 * simulated world with the TS-shaped params their own preflights made, as flow before
 * workflow files recorded them (no definition in the journal). The golden and old-journal
 * tests, the crash matrices and the journal tests run these; `flow run` never does (it
 * resolves every workflow from its file: src/preflight/workflow.ts), nor `flow verify`.
 */
import { findWorkflow } from '../../../machines/index.js';
import type { Json } from '../../../machines/types.js';
import type { RunOutcome } from '../../../src/engine/runner.js';
import type { PreflightEnv, RawOptions } from '../../../src/preflight/types.js';
import type { SimWorld } from '../../../src/verify/world.js';
import { preflightDelayedDevice } from './delayed-device.js';
import { preflightLoopMount } from './loop-mount.js';
import { preflightSnapshotImage } from './snapshot-image.js';

export const FORMAT1_PREFLIGHTS: Readonly<Record<string, (raw: RawOptions, env: PreflightEnv) => Promise<Json>>> = {
  'snapshot-image': preflightSnapshotImage,
  'delayed-device': preflightDelayedDevice,
  'loop-mount': preflightLoopMount,
};

/** A format-1 workflow's TS-shaped params, resolved in `w` (a refusal throws UsageError). */
export async function preflightFormat1(w: SimWorld, workflow: string, raw: RawOptions, id: string): Promise<Json> {
  const pre = FORMAT1_PREFLIGHTS[workflow];
  if (!pre) throw new Error(`${workflow} has no format-1 definition`);
  return pre(raw, w.preflightEnv(id));
}

/** Starts a format-1 run of `workflow` in `w`. */
export async function startFormat1(w: SimWorld, workflow: string, raw: RawOptions, id: string, opts: { keepOnFailure?: boolean } = {}): Promise<RunOutcome> {
  const params = await preflightFormat1(w, workflow, raw, id);
  return w.startWith(findWorkflow(workflow)!, params, id, opts);
}
