#!/usr/bin/env node
// Rewrites the step kinds' reference in README.md and docs/WORKFLOWS.md from the specs
// (src/steps/kinds/reference.ts); test/unit/steps/kinds.test.ts fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { buildSync } from 'esbuild';

const root = new URL('../', import.meta.url);
const out = buildSync({ entryPoints: [new URL('src/steps/kinds/reference.ts', root).pathname], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'error' });
const ref = await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
for (const [file, body] of [['README.md', ref.kindsTable()], ['docs/WORKFLOWS.md', ref.kindsReference()]]) {
  const url = new URL(file, root);
  writeFileSync(url, ref.withSection(readFileSync(url, 'utf8'), body));
}
