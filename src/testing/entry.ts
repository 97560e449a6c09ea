/**
 * The test entry (dist/test/flow.js, never shipped): the same command line as
 * dist/bin/flow.js, with the test seam installed from the test-only switches
 * (seam-from-env.ts: a persisted fake kernel, crash points, pauses, halts, journal sync
 * calls left out). With none of them set it behaves as the shipped binary.
 *
 * The build makes this module, with the whole command line, one CommonJS file
 * (dist/test/chunks/flow-test.cjs, one instance of the seam) compiled from its code cache
 * as the shipped one is (src/cli/code-cache.ts); dist/test/flow.js loads it and calls testMain.
 */
import { main } from '../cli/start.js';
import { installTestSeam } from '../test-seam.js';
import { seamFromEnv } from './seam-from-env.js';

export { warm } from '../cli/program.js';

export function testMain(argv: string[]): void {
  try {
    installTestSeam(seamFromEnv(process.env));
    main(argv, () => import('../cli/program.js'));
  } catch (err) {
    // a mistyped switch must not pass as a run with the switch
    process.stderr.write(`flow (test entry): ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
