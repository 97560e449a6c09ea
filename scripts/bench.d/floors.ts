/**
 * The floors under two of issue 12's figures, each the least any program doing the same
 * job must do, run in bare node by scripts/bench beside the flow command it bounds (same
 * hyperfine invocation):
 *
 *   bundle <program.cjs>   read the full command line's bundle and its V8 code cache, check the
 *                          cache's hash and let V8 deserialise it (src/cli/code-cache.ts's
 *                          compileWithCache), run none of it: what every full-CLI command pays
 *                          before its first statement. Exit 1 unless V8 accepted the cache.
 *   list <state-dir>       what `flow list`'s index contract requires and nothing else: read and
 *                          parse index.json, one readdir of runs/ and one lstat per run log,
 *                          each log's size compared with its entry, one line printed per run.
 *                          No validation, no sort, no formatting.
 */
import { lstatSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { compileWithCache } from '../../src/cli/code-cache.js';

function bundleFloor(file: string): void {
  const { cache } = compileWithCache(file);
  if (cache !== 'accepted') {
    process.stderr.write(`floors: the code cache of ${file} was not used (${cache}): this is not the floor\n`);
    process.exitCode = 1;
  }
}

function listFloor(stateDir: string): void {
  const index = (JSON.parse(readFileSync(`${stateDir}/index.json`, 'utf8')) as { runs: Record<string, { docSize: number }> }).runs;
  const lines: string[] = [];
  let fresh = 0;
  for (const name of readdirSync(`${stateDir}/runs`)) {
    if (!name.endsWith('.json')) continue;
    const id = name.slice(0, -5);
    if (lstatSync(`${stateDir}/runs/${name}`).size === index[id]?.docSize) fresh++;
    lines.push(id);
  }
  writeSync(1, `${lines.join('\n')}\n`);
  if (fresh !== lines.length) {
    process.stderr.write(`floors: ${lines.length - fresh} of ${lines.length} index entries stale: flow list would rebuild, this is not the floor\n`);
    process.exitCode = 1;
  }
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'bundle' && arg) bundleFloor(arg);
else if (mode === 'list' && arg) listFloor(arg);
else {
  process.stderr.write('usage: floors.mjs bundle <program.cjs> | list <state-dir>\n');
  process.exitCode = 2;
}
