#!/usr/bin/env node
/**
 * Builds the shipped CLI: dist/bin/flow.js and its chunks, bundled from the TypeScript
 * sources by esbuild (type checking is `npm run typecheck`). One bundle instead of ~400
 * module files: start-up is ~2x faster on the host and ~3x inside the kernel lab, where
 * every file read crosses 9p.
 *
 * dist/bin/chunks/program.cjs: the full command line as one CommonJS file, compiled at every
 * start from program.cjs.cache, the V8 code cache made here (src/cli/code-cache.ts: node 20
 * has no compile cache of its own; compiling ~0.8 MB was most of a command's start).
 * Commands are dynamic imports in it (src/cli/commands/index.ts), i.e. modules initialised
 * only when the command line names them. dist/bin/chunks/list-fast.js: the fast `flow list`.
 * dist/bin/flow.js: the entry (src/cli/main.ts), self-contained, that imports nothing until
 * it knows which of the two it needs: `flow --version` reads one file.
 * dist/bin/chunks/workflow-check.js: `flow check` (YAML parser, checker), an ES module
 * loaded only by that command. dist/bin/chunks/verify.js: `flow verify` (the crash matrices
 * on the fake kernel and the simulated filesystem, all in memory), self-contained the same way.
 *
 * Every bundle carries the built-in workflows compiled (scripts/builtin-cache-plugin.mjs,
 * src/workflow/builtin-cache.ts): loading a built-in or folding a run of one parses no YAML
 * and runs no checker.
 *
 * Then the test build, dist/test/ (never what `flow` runs: package.json's bin is
 * dist/bin/flow.js): the test entry (src/testing/entry.ts), which installs the test seam
 * from the test-only switches (a fake kernel, crash points, sync mutants), with the whole
 * command line in one CommonJS file (one instance of the seam), flow-test.cjs, compiled from
 * its code cache like program.cjs. Nothing under src/testing/ or src/kernel/fake/ reaches
 * dist/bin (test/cli/shipped.test.ts checks the bundle for every switch name).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';
import { builtinCachePlugin } from './builtin-cache-plugin.mjs';

const src = (p) => new URL(`../src/${p}`, import.meta.url).pathname;
const out = new URL('../dist/', import.meta.url).pathname;
/**
 * zod re-exports every locale it ships (`z.locales`, ~300 KB, half of zod in the bundle) from
 * modules tree shaking cannot drop (classic/external.js, core/index.js); flow uses only the English messages (imported by
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
// the built-in workflows compiled here, once (src/workflow/builtin-cache.ts)
const builtinCache = await builtinCachePlugin([zodLocales]);
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
  plugins: [zodLocales, builtinCache],
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
    b.onResolve({ filter: /^\.\/check-command\.js$/ }, (args) => {
      if (!args.importer.endsWith('/src/cli/commands/check.ts') || args.kind !== 'dynamic-import') return undefined;
      return { path: './workflow-check.js', external: true };
    });
    // `flow verify` (the crash matrices, the fake kernel, the simulated filesystem) likewise
    b.onResolve({ filter: /^\.\/verify-command\.js$/ }, (args) => {
      if (!args.importer.endsWith('/src/cli/commands/verify.ts') || args.kind !== 'dynamic-import') return undefined;
      return { path: './verify.js', external: true };
    });
  },
};
// the full command line: one CommonJS file that main.ts compiles through its code cache (below)
await build({ ...common, format: 'cjs', entryPoints: { program: src('cli/program.ts') }, outdir: `${out}bin/chunks`, outExtension: { '.js': '.cjs' }, plugins: [zodLocales, builtinCache, workflowCheck] });
await build({ ...common, entryPoints: { 'list-fast': src('cli/commands/list-fast.ts') }, outdir: `${out}bin/chunks`, banner });
await build({ ...common, entryPoints: { 'workflow-check': src('cli/commands/check-command.ts') }, outdir: `${out}bin/chunks`, banner });
await build({ ...common, entryPoints: { verify: src('cli/commands/verify-command.ts') }, outdir: `${out}bin/chunks`, banner });
await build({
  ...common,
  entryPoints: { flow: src('cli/main.ts') },
  outdir: `${out}bin`,
  plugins: [
    zodLocales,
    builtinCache,
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
// the test build: the test entry with the whole command line as one CommonJS file (one
// instance of the test seam), compiled from its code cache like the shipped one; flow.js loads it
await build({ ...common, format: 'cjs', entryPoints: { 'flow-test': src('testing/entry.ts') }, outdir: `${out}test/chunks`, outExtension: { '.js': '.cjs' } });
await build({
  ...common,
  stdin: {
    contents: "import { fileURLToPath } from 'node:url'; import { loadWithCache } from './cli/code-cache.ts'; loadWithCache(fileURLToPath(new URL('./chunks/flow-test.cjs', import.meta.url))).exports.testMain(process.argv);",
    resolveDir: src(''),
    sourcefile: 'test-launcher.ts',
    loader: 'ts',
  },
  outfile: `${out}test/flow.js`,
  banner: { js: '#!/usr/bin/env node' },
});
// the V8 code caches of program.cjs and flow-test.cjs, made by the very loader that reads it (src/cli/code-cache.ts)
// under the node that builds: another node refuses it and compiles as before
{
  const tool = `${out}.code-cache-tool.mjs`;
  await build({ ...common, plugins: [], sourcemap: false, entryPoints: [src('cli/code-cache.ts')], outfile: tool });
  const { makeCache } = await import(tool);
  const test = `${out}test/chunks/flow-test.cjs`;
  writeFileSync(`${test}.cache`, await makeCache(test));
  const program = `${out}bin/chunks/program.cjs`;
  // node 20 has no import() in a vm.Script without an experimental flag: the loader passes
  // its own (code-cache.ts, __flowImport); no other import() may remain
  const code = readFileSync(program, 'utf8');
  const calls = code.match(/\bimport\(/g) ?? [];
  const chunks = ['./workflow-check.js', './verify.js'];
  let rewritten = code;
  for (const c of chunks) {
    const parts = rewritten.split(`import("${c}")`);
    if (parts.length !== 2) throw new Error(`program.cjs: expected exactly one import() of ${c}; found ${parts.length - 1}`);
    rewritten = parts.join(`__flowImport("${c}")`);
  }
  if (calls.length !== chunks.length) throw new Error(`program.cjs: expected exactly ${chunks.length} import() (${chunks.join(', ')}); found ${calls.length}`);
  writeFileSync(program, rewritten);
  writeFileSync(`${program}.cache`, await makeCache(program));
  rmSync(tool);
}
