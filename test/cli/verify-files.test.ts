/**
 * `flow verify FILE`: a workflow file (every example in examples/, and a user's file that
 * is none of the built-ins) is crash-tested in memory through the shipped binary, loaded
 * as `flow run FILE` loads it; the report says 0 violations and 0 leaks with every point
 * tried, and nothing on this host changes. A broken file is refused as `flow run` refuses it.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { Sandbox, shipped } from './harness.js';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const sb = new Sandbox();
afterAll(() => sb.cleanup());

function loopsOn(dir: string): string[] {
  return spawnSync('losetup', ['-l', '-n', '-O', 'BACK-FILE'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(dir));
}

const cases: [string, () => string[]][] = [
  ['examples/flaky-disk.yaml', () => ['--file', join(sb.dir, 'flaky.img'), '--size', '64M']],
  ['examples/ram-scratch.yaml', () => ['--size', '64M', '--filesystem', 'vfat']],
  ['examples/try-image.yaml', () => ['--image', sb.piImage(), '--store', join(sb.dir, 'changes.cow'), '--store-size', '16M']],
  ['test/fixtures/workflows/linear-disk.yaml', () => ['--file', join(sb.dir, 'linear.img')]],
];

describe('flow verify FILE', () => {
  test.each(cases)('%s: every point tried, 0 violations, 0 leaks; nothing on this host changed', (file, args) => {
    const given = args();
    const before = readdirSync(sb.dir).sort();
    const r = shipped(sb, ['verify', repo(file), ...given, '--json']);
    expect(r.code, r.stderr + r.stdout.slice(0, 2000)).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ ok: true, violations: 0, leaks: 0, findings: [] });
    expect(j.points.enumerated).toBeGreaterThan(0);
    expect(j.points.tried).toBe(j.points.enumerated);
    expect(j.runs).toBeGreaterThan(j.points.enumerated);
    expect(readdirSync(sb.dir).sort()).toEqual(before);
    expect(readdirSync(sb.dir)).not.toContain('state');
    expect(loopsOn(sb.dir)).toEqual([]);
  }, 600_000);

  test('a file flow check refuses is refused the same way, exit 2, before anything runs', () => {
    const bad = join(sb.dir, 'bad.yaml');
    writeFileSync(bad, 'name: bad\ndescription: x\nsteps:\n  - name: a\n    kind: no.such.kind\n');
    const r = shipped(sb, ['verify', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:\d+:\d+/);
    expect(r.stdout).toBe('');
  });
});
