#!/usr/bin/env node
/**
 * Bundles the bench's tools (bench, tools, journal-tools, floors) into OUT with esbuild, with the
 * built-in workflows compiled as flow's own bundles carry them (scripts/builtin-cache-plugin.mjs):
 * the figures measure flow's code as it ships. Usage: bundle-tools.mjs OUT
 */
import { build } from 'esbuild';
import { builtinCachePlugin } from '../builtin-cache-plugin.mjs';

const out = process.argv[2];
if (!out) throw new Error('usage: bundle-tools.mjs OUT');
const plugin = await builtinCachePlugin();
for (const f of ['bench', 'tools', 'journal-tools', 'floors']) {
  await build({
    entryPoints: [new URL(`./${f}.ts`, import.meta.url).pathname],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
    banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" },
    outfile: `${out}/${f}.mjs`,
    plugins: [plugin],
  });
}
