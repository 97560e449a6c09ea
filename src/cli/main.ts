#!/usr/bin/env node
/**
 * flow's entry point: the shipped binary (dist/bin/flow.js). It installs no test seam
 * (src/test-seam.ts): every environment switch the tests use is absent from this build.
 */
import { main } from './start.js';

main(process.argv);
