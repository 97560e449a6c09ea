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
 * dist/bin/chunks/verify.js: `flow verify` (the crash matrices on the fake kernel and the
 * simulated filesystem, all in memory), self-contained the same way.
 *
 * Then the test build, dist/test/ (never what `flow` runs: package.json's bin is
 * dist/bin/flow.js): the same command line from the test entry (src/testing/entry.ts), which
 * installs the test seam from the test-only switches (a fake kernel, crash points, sync
 * mutants). One code-split build, so the entry, program.js and list-fast.js share one
 * instance of the seam. Nothing under src/testing/ or src/kernel/fake/ reaches dist/bin
 * (test/cli/shipped.test.ts checks the bundle for every switch name).
 */
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const src = (p) => new URL(`../src/${p}`, import.meta.url).pathname;
const out = new URL('../dist/', import.meta.url).pathname;
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
};
/** start.ts's dynamic imports, as built by the first build */
const LAZY = { './program.js': './chunks/program.js', './commands/list-fast.js': './chunks/list-fast.js' };

rmSync(out, { recursive: true, force: true });
// CommonJS dependencies (commander) require() node built-ins; ESM has no `require`
const banner = { js: "import { createRequire as __flowRequire } from 'node:module'; const require = __flowRequire(import.meta.url);" };
await build({
  ...common,
  entryPoints: { program: src('cli/program.ts'), 'list-fast': src('cli/commands/list-fast.ts') },
  outdir: `${out}bin/chunks`,
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  splitting: true,
  banner,
  plugins: [
    {
      // `flow check` (the YAML parser and the checker) is a file of its own, built below: had it
      // been split with the rest, the code it shares with program.js would become extra chunks
      // that every command loads
      name: 'workflow-check',
      setup(b) {
        b.onResolve({ filter: /workflow\/command\.js$/ }, (args) => {
          if (!args.importer.endsWith('/src/cli/commands/check.ts') || args.kind !== 'dynamic-import') return undefined;
          return { path: './workflow-check.js', external: true };
        });
        // `flow verify` (the crash matrices, the fake kernel, the simulated filesystem) likewise
        b.onResolve({ filter: /^\.\/verify-command\.js$/ }, (args) => {
          if (!args.importer.endsWith('/src/cli/commands/verify.ts') || args.kind !== 'dynamic-import') return undefined;
          return { path: './verify.js', external: true };
        });
      },
    },
  ],
});
await build({ ...common, entryPoints: { 'workflow-check': src('workflow/command.ts') }, outdir: `${out}bin/chunks`, banner });
await build({ ...common, entryPoints: { verify: src('cli/commands/verify-command.ts') }, outdir: `${out}bin/chunks`, banner });
await build({
  ...common,
  entryPoints: { flow: src('cli/main.ts') },
  outdir: `${out}bin`,
  plugins: [
    {
      name: 'lazy-chunks',
      setup(b) {
        b.onResolve({ filter: /^\.\/(program|commands\/list-fast)\.js$/ }, (args) => {
          if (!args.importer.endsWith('/src/cli/start.ts') || args.kind !== 'dynamic-import') return undefined;
          return { path: LAZY[args.path], external: true };
        });
      },
    },
  ],
});
await build({
  ...common,
  entryPoints: { flow: src('testing/entry.ts'), 'chunks/program': src('cli/program.ts'), 'chunks/list-fast': src('cli/commands/list-fast.ts') },
  outdir: `${out}test`,
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  banner,
});
