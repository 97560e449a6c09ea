#!/usr/bin/env node
/**
 * flow's entry point: the shipped binary (dist/bin/flow.js). It installs no test seam
 * (src/test-seam.ts): every environment switch the tests use is absent from this build.
 * The full command line is dist/bin/chunks/program.cjs, compiled from the code cache the
 * build made beside it (code-cache.ts); node 22+ also caches the ES modules it compiles.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';
import { enableCompileCache, loadWithCache } from './code-cache.js';
import { compileCacheDir } from './cache-dir.js';
import { main } from './start.js';

const uid = process.getuid?.() ?? 0;
enableCompileCache(module as never, compileCacheDir(process.env, uid), { mkdirSync, lstatSync }, uid);
main(process.argv, async () => loadWithCache<typeof import('./program.js')>(fileURLToPath(new URL('./chunks/program.cjs', import.meta.url))).exports);
