/**
 * Journals written by an older main (format 1, test/fixtures/golden-format1/, made by its
 * make.sh) still resume and roll back exactly with this flow: every workflow, finished and
 * killed mid-step. Each fixture is restored into a sandbox (its images, run directories,
 * state directory and fake kernel, on this machine's inodes), then driven by the CLI.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { restore, type Golden } from '../fixtures/golden-format1/tree.js';
import { Sandbox } from './harness.js';

const DIR = fileURLToPath(new URL('../fixtures/golden-format1/', import.meta.url));
const goldens: Golden[] = readdirSync(DIR)
  .filter((n) => n.endsWith('.json'))
  .sort()
  .map((n) => JSON.parse(readFileSync(join(DIR, n), 'utf8')) as Golden);

let sb: Sandbox | undefined;
afterEach(() => sb?.cleanup());

function restored(g: Golden): Sandbox {
  sb = new Sandbox();
  restore(g, sb.dir, sb.kernelFile);
  expect(JSON.parse(readFileSync(join(sb.stateDir, 'runs', `${g.id}.json`), 'utf8')).format).toBe(1);
  return sb;
}

/** Nothing of the run is left: no device, no mount, no file it created, no run directory. */
function expectClean(s: Sandbox, g: Golden): void {
  expect(s.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
  if (g.made.argv.includes('delayed-device')) expect(existsSync(join(s.dir, 'slow.img'))).toBe(false);
  expect(existsSync(s.runDir) ? readdirSync(s.runDir) : []).toEqual([]);
}

describe('golden format-1 journals from an older main', () => {
  it('covers every built-in workflow, finished and killed mid-step', () => {
    for (const wf of ['delayed-device', 'snapshot-image', 'loop-mount']) {
      const of = goldens.filter((g) => g.made.argv[1] === wf);
      expect(of.some((g) => !g.made.crashAt)).toBe(true);
      expect(of.some((g) => g.made.crashAt && g.made.signal === 'SIGKILL')).toBe(true);
    }
  });

  it.each(goldens.map((g) => [g.case, g]))('%s: resumes to done, then rolls back exactly', (_c, g) => {
    const s = restored(g);
    const r = s.flow(['resume', g.id]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`run ${g.id}: done`);
    expect(s.kernel().mounts).toHaveLength(1);
    const b = s.flow(['rollback', g.id]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain(`run ${g.id}: rolled-back`);
    expectClean(s, g);
  });

  it.each(goldens.map((g) => [g.case, g]))('%s: rolls back exactly as found', (_c, g) => {
    const s = restored(g);
    expect(s.flow(['show', g.id]).code).toBe(0);
    const b = s.flow(['rollback', g.id]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(b.stdout).toContain(`run ${g.id}: rolled-back`);
    expectClean(s, g);
  });
});
