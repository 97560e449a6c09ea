/**
 * The in-process world of the engine and crash tests: `flow verify`'s simulated host
 * (src/verify/world.ts), which also starts the frozen format-1 definitions (machines/*.ts)
 * with their TS-shaped params (./format1: no shipped code does that any more).
 */
import type { Json } from '../../machines/types.js';
import type { RunOutcome } from '../../src/engine/runner.js';
import type { RawOptions } from '../../src/preflight/types.js';
import { SimWorld } from '../../src/verify/world.js';
import { preflightFormat1, startFormat1 } from './format1/index.js';

export { STATE_DIR } from '../../src/verify/world.js';

export class World extends SimWorld {
  /** A format-1 workflow's TS-shaped params in this world. */
  async preflight(workflow: string, raw: RawOptions, id: string): Promise<Json> {
    return preflightFormat1(this, workflow, raw, id);
  }

  /** Starts a format-1 run of `workflow` in this world. */
  async start(workflow: string, raw: RawOptions, id: string, opts: { keepOnFailure?: boolean } = {}): Promise<RunOutcome> {
    return startFormat1(this, workflow, raw, id, opts);
  }
}
