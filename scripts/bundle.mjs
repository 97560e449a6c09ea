#!/usr/bin/env node
/**
 * Builds the shipped CLI: dist/bin/flow.js and its chunks, bundled from the TypeScript
 * sources by esbuild (type checking is `npm run typecheck`). One bundle instead of ~400
 * module files: start-up is ~2x faster on the host and ~3x inside the kernel lab, where
 * every file read crosses 9p.
 *
 * Three builds. dist/bin/chunks/: the full command line (program.js) and the fast `flow list`
 * (list-fast.js), code-split so that list-fast loads only its own small chunks.
 * dist/bin/flow.js: the entry (src/cli/main.ts) as one self-contained file that imports
 * nothing until it knows which of the two it needs: `flow --version` reads one file, and
 * every module file loaded costs an asynchronous read (and, in the lab, a 9p round trip).
 * dist/bin/chunks/workflow-check.js: `flow check` (YAML parser, checker), self-contained,
 * loaded only by that command, so program.js and its chunks stay as they were.
 *
 * Then the test build, dist/test/ (never what `flow` runs: package.json's bin is
 * dist/bin/flow.js): the same command line from the test entry (src/testing/entry.ts), which
 * installs the test seam from the test-only switches (a fake kernel, crash points, sync
 * mutants). One code-split build, so the entry, program.js and list-fast.js share one
 * instance of the seam. Nothing under src/testing/ or src/kernel/fake/ reaches dist/bin
 * (test/cli/shipped.test.ts checks the bundle for every switch name).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const src = (p) => new URL(`../src/${p}`, import.meta.url).pathname;
const out = new URL('../dist/', import.meta.url).pathname;
/**
 * zod re-exports every locale it ships (`z.locales`, ~300 KB, half of zod in the bundle) from
 * one module that tree shaking cannot drop; flow uses only the English messages (imported by
 * zod's schemas on their own), so that module becomes an empty one: less to compile at every start.
 */
const zodLocales = {
  name: 'zod-locales',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index|mini[\\/]external)\.js$/.test(args.importer) ? { path: 'zod-locales', namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};
const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [zodLocales],
};

rmSync(out, { recursive: true, force: true });
// CommonJS dependencies (commander) require() node built-ins; ESM has no `require`
const banner = { js: "import { createRequire as __flowRequire } from 'node:module'; const require = __flowRequire(import.meta.url);" };
/**
 * `flow check` (the YAML parser and the checker) is a file of its own, built below: had it
 * been split with the rest, the code it shares with the command line would become extra
 * chunks that every command loads.
 */
const workflowCheck = {
  name: 'workflow-check',
  setup(b) {
    b.onResolve({ filter: /workflow\/command\.js$/ }, (args) => {
      if (!args.importer.endsWith('/src/cli/commands/check.ts') || args.kind !== 'dynamic-import') return undefined;
      return { path: './workflow-check.js', external: true };
    });
  },
};
// the full command line: one CommonJS file that main.ts compiles through its code cache (below)
await build({ ...common, format: 'cjs', entryPoints: { program: src('cli/program.ts') }, outdir: `${out}bin/chunks`, outExtension: { '.js': '.cjs' }, plugins: [zodLocales, workflowCheck] });
await build({ ...common, entryPoints: { 'list-fast': src('cli/commands/list-fast.ts') }, outdir: `${out}bin/chunks`, banner });
await build({ ...common, entryPoints: { 'workflow-check': src('workflow/command.ts') }, outdir: `${out}bin/chunks`, banner });
await build({
  ...common,
  entryPoints: { flow: src('cli/main.ts') },
  outdir: `${out}bin`,
  plugins: [
    zodLocales,
    {
      name: 'lazy-chunks',
      setup(b) {
        b.onResolve({ filter: /^\.\/commands\/list-fast\.js$/ }, (args) => {
          if (!args.importer.endsWith('/src/cli/start.ts') || args.kind !== 'dynamic-import') return undefined;
          return { path: './chunks/list-fast.js', external: true };
        });
      },
    },
  ],
});
// program.cjs's V8 code cache, made by the very loader that reads it (src/cli/code-cache.ts)
// under the node that builds: another node refuses it and compiles as before
{
  const tool = `${out}.code-cache-tool.mjs`;
  await build({ ...common, plugins: [], sourcemap: false, entryPoints: [src('cli/code-cache.ts')], outfile: tool });
  const { makeCache } = await import(tool);
  const program = `${out}bin/chunks/program.cjs`;
  // node 20 has no import() in a vm.Script without an experimental flag: the loader passes
  // its own (code-cache.ts, __flowImport); no other import() may remain
  const code = readFileSync(program, 'utf8');
  const calls = code.match(/\bimport\(/g) ?? [];
  const ours = code.split('import("./workflow-check.js")');
  if (ours.length !== 2 || calls.length !== 1) throw new Error(`program.cjs: expected exactly one import(), of ./workflow-check.js; found ${calls.length}`);
  writeFileSync(program, ours.join('__flowImport("./workflow-check.js")'));
  writeFileSync(`${program}.cache`, await makeCache(program));
  rmSync(tool);
}
await build({
  ...common,
  entryPoints: { flow: src('testing/entry.ts'), 'chunks/program': src('cli/program.ts'), 'chunks/list-fast': src('cli/commands/list-fast.ts') },
  outdir: `${out}test`,
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  banner,
});
