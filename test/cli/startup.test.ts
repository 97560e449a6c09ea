/**
 * How the shipped binary starts (docs/PERFORMANCE.md, start-up): the full command line is
 * one CommonJS file compiled from the V8 code cache the build made beside it, and that
 * cache is one this node accepts in a fresh process (else every command compiles ~0.8 MB
 * of JavaScript again). No timing here: benchmarks (scripts/bench) measure, tests check
 * that the mechanism is in place and that every path through it still works.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildSync } from 'esbuild';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { COMMANDS, entriesFor } from '../../src/cli/commands/index.js';
import { BUILTIN_TEXTS } from '../../machines/builtins.js';
import { Sandbox, SHIPPED } from './harness.js';

const chunks = join(dirname(SHIPPED), 'chunks');
let sb: Sandbox;
beforeEach(() => (sb = new Sandbox()));
afterEach(() => sb.cleanup());

function shipped(args: string[]) {
  return spawnSync(process.execPath, [SHIPPED, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, LANG: 'C.UTF-8', FLOW_STATE_DIR: sb.stateDir, FLOW_RUN_DIR: sb.runDir } });
}

test('the full command line ships as program.cjs with a code cache this node accepts in a fresh process', () => {
  const program = join(chunks, 'program.cjs');
  expect(existsSync(program)).toBe(true);
  expect(existsSync(`${program}.cache`)).toBe(true);
  // the loader as the build bundles it, in a fresh process as a later `flow` is
  const tool = join(sb.dir, 'loader.mjs');
  buildSync({ entryPoints: [new URL('../../src/cli/code-cache.ts', import.meta.url).pathname], bundle: true, format: 'esm', platform: 'node', outfile: tool, logLevel: 'error' });
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `import { loadWithCache } from ${JSON.stringify(tool)}; const r = loadWithCache(${JSON.stringify(program)}); console.log(JSON.stringify({ cache: r.cache, run: typeof r.exports.run }));`], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ cache: 'accepted', run: 'function' });
  // zod's other locales (300 KB) are left out: its English messages stay
  const code = readFileSync(program, 'utf8');
  expect(code).not.toContain('Unbekannte');
  expect(code).toContain('Invalid input');
});

test('every path of the shipped binary works through it: a command, an error, help, flow check (its own ES module chunk)', () => {
  const w = shipped(['workflows', '--json']);
  expect(w.status, w.stderr).toBe(0);
  expect((JSON.parse(w.stdout) as { name: string }[]).map((x) => x.name)).toContain('delayed-device');
  const e = shipped(['rollback', 'zzzzzzzz']);
  expect(e.status).toBe(2);
  expect(e.stderr).toMatch(/^flow: no run zzzzzzzz/);
  const u = shipped(['nope']);
  expect(u.status).toBe(2);
  expect(u.stderr).toContain("flow: unknown command 'nope'");
  const h = shipped(['run', '--help']);
  expect(h.status).toBe(0);
  expect(h.stdout).toContain('loop-mount');
  const c = shipped(['check', join(dirname(SHIPPED), '../../machines/loop-mount.yaml')]);
  expect(c.status, c.stderr).toBe(0);
  expect(c.stdout).toContain('workflow loop-mount');
  expect(readFileSync(join(chunks, 'workflow-check.js'), 'utf8')).toContain('LineCounter');
});

test('a command loaded alone (the command line names it) is the same command as with every one loaded (help, completion)', () => {
  for (const e of COMMANDS) {
    expect(entriesFor(['--state-dir', 'x', ...e.names.slice(0, 1), '--help'])).toEqual(e.all ? COMMANDS : [e]);
    for (const name of e.names) {
      const alone = shipped([name, '--help']);
      const all = shipped(['help', name]); // `help` is no command of ours: every one is loaded
      expect(alone.status, alone.stderr).toBe(0);
      expect(alone.stdout, name).toBe(all.stdout);
    }
  }
  const words = (s: string) => s.split(/\s+/);
  expect(words(shipped(['completion', 'bash']).stdout)).toEqual(expect.arrayContaining(['workflows', 'rollback', 'delayed-device']));
});

test('the built-in workflows ship compiled (src/workflow/builtin-cache.ts), and a built-in plans as its file given by path', () => {
  // both bundles carry the table, one entry per built-in (the sources carry none: the unit tests parse)
  for (const bundle of [join(chunks, 'program.cjs'), join(dirname(SHIPPED), '../test/chunks/flow-test.cjs')]) {
    const code = readFileSync(bundle, 'utf8');
    for (const name of Object.keys(BUILTIN_TEXTS)) expect(code, `${bundle}: ${name}`).toContain(`${JSON.stringify(name)}:{definition:`);
  }
  // the cached built-in and the same file parsed: the same plan, ids and UUIDs apart
  const image = join(sb.dir, 'slow.img');
  const norm = (s: string) => {
    const id = /provisional id ([0-9a-z]+);/.exec(s)?.[1];
    expect(id).toBeDefined();
    return s.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID').split(id!).join('ID');
  };
  const byName = shipped(['plan', 'delayed-device', '--file', image, '--size', '64M']);
  const byPath = shipped(['plan', new URL('../../machines/delayed-device.yaml', import.meta.url).pathname, '--file', image, '--size', '64M']);
  expect(byName.status, byName.stderr).toBe(0);
  expect(byPath.status, byPath.stderr).toBe(0);
  expect(byName.stdout).toContain('create-delay');
  expect(norm(byName.stdout)).toBe(norm(byPath.stdout));
});
