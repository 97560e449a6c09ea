/**
 * The esbuild plugin that gives a bundle the built-in workflows compiled
 * (src/workflow/builtin-cache.ts): the real parser and checker run once over machines/*.yaml
 * by a tool bundled from the sources, and the module that holds the table is loaded with the
 * table filled. Used by scripts/bundle.mjs (the shipped and test builds) and scripts/bench
 * (its tools measure what flow does, so they carry the same table).
 */
import { readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const src = (p) => new URL(`../src/${p}`, import.meta.url).pathname;

export async function builtinCachePlugin(extraPlugins = []) {
  const dir = mkdtempSync(join(tmpdir(), 'flow-builtin-cache-'));
  let source;
  try {
    const tool = join(dir, 'tool.mjs');
    await build({
      entryPoints: [src('workflow/builtin-cache-gen.ts')],
      outfile: tool,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      logLevel: 'warning',
      plugins: extraPlugins,
      banner: { js: "import { createRequire as __flowRequire } from 'node:module'; const require = __flowRequire(import.meta.url);" },
    });
    const { builtinCacheModule } = await import(tool);
    source = builtinCacheModule(readFileSync(src('workflow/builtin-cache.ts'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    name: 'builtin-cache',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]workflow[\\/]builtin-cache\.ts$/ }, () => ({ contents: source, loader: 'ts' }));
    },
  };
}
