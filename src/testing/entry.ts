#!/usr/bin/env node
/**
 * The test entry (dist/test/flow.js, never shipped): the same command line as
 * dist/bin/flow.js, with the test seam installed from the test-only switches
 * (seam-from-env.ts: a persisted fake kernel, crash points, pauses, halts, journal sync
 * calls left out). With none of them set it behaves as the shipped binary.
 */
import { main } from '../cli/start.js';
import { installTestSeam } from '../test-seam.js';
import { seamFromEnv } from './seam-from-env.js';

try {
  installTestSeam(seamFromEnv(process.env));
  main(process.argv, () => import('../cli/program.js'));
} catch (err) {
  // a mistyped switch must not pass as a run with the switch
  process.stderr.write(`flow (test entry): ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
