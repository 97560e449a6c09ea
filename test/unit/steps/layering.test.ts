/**
 * Layering: the functional core and the engine (src/steps, src/engine, src/preflight,
 * src/workflow, journal) never import the command line (src/cli); the command line imports
 * them. Read from each module's import lines (static, `export ... from`, dynamic `import()`).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(new URL('../../../', import.meta.url).pathname);
const LOWER = ['src/steps', 'src/engine', 'src/preflight', 'src/workflow', 'journal'];
const CLI = path.join(ROOT, 'src/cli');

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? modules(p) : /\.(ts|mts|js|mjs)$/.test(n) ? [p] : [];
  });
}

/** The module specifiers `source` imports: `import ... from 'x'`, `import 'x'`, `export ... from 'x'`, `import('x')`. */
function importedSpecifiers(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

/** The imports of `file` that resolve into src/cli, as `file: specifier`. */
function cliImports(file: string, source: string): string[] {
  return importedSpecifiers(source)
    .filter((s) => s.startsWith('.'))
    .filter((s) => {
      const to = path.resolve(path.dirname(file), s);
      return to === CLI || to.startsWith(CLI + path.sep);
    })
    .map((s) => `${path.relative(ROOT, file)}: ${s}`);
}

describe('layering', () => {
  it('reads every kind of import line (the check can fail)', () => {
    const src = [
      "import { a } from '../cli/exit.js';",
      "import type { B } from '../cli/plan/build.js';",
      "export { c } from '../cli/c.js';",
      "import '../cli/side-effect.js';",
      "const m = await import('../cli/commands/x.js');",
      'import {\n  d,\n  e,\n} from "../cli/multi.js";',
      "import { ok } from '../engine/plan.js';",
    ].join('\n');
    expect(cliImports(path.join(ROOT, 'src/engine/x.ts'), src)).toEqual([
      'src/engine/x.ts: ../cli/exit.js',
      'src/engine/x.ts: ../cli/plan/build.js',
      'src/engine/x.ts: ../cli/c.js',
      'src/engine/x.ts: ../cli/side-effect.js',
      'src/engine/x.ts: ../cli/commands/x.js',
      'src/engine/x.ts: ../cli/multi.js',
    ]);
    // a sibling named like the command line is not it
    expect(cliImports(path.join(ROOT, 'src/engine/x.ts'), "import { y } from './cli-words.js';")).toEqual([]);
  });

  it.each(LOWER)('no module under %s imports from src/cli', (dir) => {
    const files = modules(path.join(ROOT, dir));
    expect(files.length).toBeGreaterThan(0);
    expect(files.flatMap((f) => cliImports(f, readFileSync(f, 'utf8')))).toEqual([]);
  });
});
