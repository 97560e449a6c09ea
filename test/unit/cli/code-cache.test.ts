/**
 * The code cache the shipped command line is compiled from (src/cli/code-cache.ts): used
 * when it is for this source and this node, never for other source, and the module runs
 * the same with or without it; node 22's compile cache only in a directory of our own.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { compileCacheDir } from '../../../src/cli/cache-dir.js';
import { enableCompileCache, loadWithCache, makeCache } from '../../../src/cli/code-cache.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'flow-code-cache-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The loader bundled as the build bundles it, run in fresh node processes as the build
 * (makeCache) and a later `flow` (loadWithCache) are: in one process V8's in-memory
 * compilation cache would answer for the code cache.
 */
let tool: string;
beforeAll(() => {
  tool = join(mkdtempSync(join(tmpdir(), 'flow-code-cache-tool-')), 'tool.mjs');
  buildSync({ entryPoints: [new URL('../../../src/cli/code-cache.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'node', outfile: tool, logLevel: 'error' });
});
afterAll(() => rmSync(join(tool, '..'), { recursive: true, force: true }));

function child(code: string): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { makeCache, loadWithCache } from ${JSON.stringify(tool)}; import { writeFileSync } from 'node:fs'; ${code}`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}
const makeIn = (f: string) => child(`writeFileSync(${JSON.stringify(`${f}.cache`)}, await makeCache(${JSON.stringify(f)}));`);
const loadIn = (f: string) => JSON.parse(child(`const r = loadWithCache(${JSON.stringify(f)}); console.log(JSON.stringify({ cache: r.cache, value: r.exports.value }));`)) as { cache: string; value: string };

/** A CommonJS bundle that counts how often its module code ran. */
function bundle(name: string, value: string): string {
  const file = join(dir, name);
  writeFileSync(file, `globalThis.__ran = (globalThis.__ran ?? 0) + 1; module.exports = { value: ${JSON.stringify(value)}, here: __filename, rel: require('node:path').basename(__dirname) };`);
  return file;
}

describe('loadWithCache', () => {
  test('without a cache it compiles the source as node would (module, require, __filename, __dirname)', () => {
    const f = bundle('a.cjs', 'one');
    const r = loadWithCache<{ value: string; here: string; rel: string }>(f);
    expect(r.cache).toBe('absent');
    expect(r.exports).toEqual({ value: 'one', here: f, rel: dir.split('/').pop() });
  });

  test('a cache the build made for this source is accepted by this node in a later process, and the module runs the same', () => {
    const f = bundle('b.cjs', 'two');
    makeIn(f);
    expect(loadIn(f)).toEqual({ cache: 'accepted', value: 'two' });
  });

  test('a cache for other source (same length) is never handed to V8: the new source runs', async () => {
    const f = bundle('c.cjs', 'old');
    writeFileSync(`${f}.cache`, await makeCache(f));
    bundle('c.cjs', 'new'); // same length: V8's own check (the length) would not see it
    const r = loadWithCache<{ value: string }>(f);
    expect(r.cache).toBe('stale');
    expect(r.exports.value).toBe('new');
  });

  test('a cache V8 refuses (another node, damaged) is only slower: the module still runs', () => {
    const f = bundle('d.cjs', 'four');
    makeIn(f);
    const c = readFileSync(`${f}.cache`);
    c.fill(7, 40); // the hash stays right, the V8 data is garbage
    writeFileSync(`${f}.cache`, c);
    expect(loadIn(f)).toEqual({ cache: 'rejected', value: 'four' });
  });

  test('__flowImport loads an ES module relative to the bundle (what `flow check` needs; node 20 has no import() in a vm.Script)', async () => {
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'esm.mjs'), 'export const answer = 42;');
    const f = join(dir, 'e.cjs');
    writeFileSync(f, 'module.exports = () => __flowImport("./sub/esm.mjs");');
    writeFileSync(`${f}.cache`, await makeCache(f));
    const r = loadWithCache<() => Promise<{ answer: number }>>(f);
    expect(r.cache).toBe('accepted');
    expect((await r.exports()).answer).toBe(42);
  });
});

describe('enableCompileCache (node 22+)', () => {
  const uid = process.getuid!();
  test('node 20 (no enableCompileCache): nothing happens, not even a directory', () => {
    const d = join(dir, 'cache');
    expect(enableCompileCache({}, d, fs, uid)).toBe(false);
    expect(() => statSync(d)).toThrow();
  });

  test('present: called with a private directory it made (mode 0700)', () => {
    const calls: string[] = [];
    const d = join(dir, 'cache', 'compile');
    expect(enableCompileCache({ enableCompileCache: (x) => calls.push(x) }, d, fs, uid)).toBe(true);
    expect(calls).toEqual([d]);
    expect(statSync(d).mode & 0o777).toBe(0o700);
  });

  test("refused: a directory others can write, or another user's", () => {
    const calls: string[] = [];
    const shared = join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    expect(enableCompileCache({ enableCompileCache: (x) => calls.push(x) }, shared, fs, uid)).toBe(false);
    const theirs = join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    expect(enableCompileCache({ enableCompileCache: (x) => calls.push(x) }, theirs, fs, uid + 1)).toBe(false);
    expect(enableCompileCache({ enableCompileCache: (x) => calls.push(x) }, undefined, fs, uid)).toBe(false);
    expect(calls).toEqual([]);
  });

  test('the directory: root a system one, a user under their own cache, never a shared or relative one', () => {
    expect(compileCacheDir({ HOME: '/root', TMPDIR: '/tmp' }, 0)).toBe('/var/cache/flow/node-compile-cache');
    expect(compileCacheDir({ HOME: '/home/u' }, 1000)).toBe('/home/u/.cache/flow/node-compile-cache');
    expect(compileCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/home/u/c' }, 1000)).toBe('/home/u/c/flow/node-compile-cache');
    expect(compileCacheDir({ HOME: 'rel', XDG_CACHE_HOME: 'x' }, 1000)).toBeUndefined();
    expect(compileCacheDir({}, 1000)).toBeUndefined();
  });
});

test('makeCache ran the module code once and awaited its warm(); loading with the cache runs it once more', async () => {
  const f = join(dir, 'g.cjs');
  writeFileSync(f, 'globalThis.__ran = (globalThis.__ran ?? 0) + 1; module.exports = { warm: async () => { globalThis.__warmed = (globalThis.__warmed ?? 0) + 1; } };');
  const g = globalThis as { __ran?: number; __warmed?: number };
  const before = g.__ran ?? 0;
  writeFileSync(`${f}.cache`, await makeCache(f));
  loadWithCache(f);
  expect(g.__ran).toBe(before + 2);
  expect(g.__warmed).toBe(1);
  expect(readFileSync(`${f}.cache`).length).toBeGreaterThan(32);
});
