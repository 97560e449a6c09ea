/** Where workflows come from (a path, /etc's directory, the built-ins) and the canonical definition a run records. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { BUILTIN_TEXTS } from '../../../machines/builtins.js';
import { instantiate } from '../../../src/workflow/resolve.js';
import { loadWorkflow, listWorkflows, sha256Of, workflowFromDefinition } from '../../../src/workflow/source.js';

const MACHINES = new URL('../../../machines/', import.meta.url);
let dir: string;
afterEach(() => dir && rmSync(dir, { recursive: true, force: true }));
const tmp = () => (dir = mkdtempSync(join(tmpdir(), 'flow-src-')));

describe('workflow sources', () => {
  test('machines/builtins.ts holds exactly the built-in files (node machines/gen-builtins.mjs)', () => {
    const files = readdirSync(MACHINES).filter((n) => n.endsWith('.yaml'));
    expect(Object.keys(BUILTIN_TEXTS).sort()).toEqual(files.map((n) => n.replace(/\.yaml$/, '')).sort());
    for (const n of files) expect(BUILTIN_TEXTS[n.replace(/\.yaml$/, '')], n).toBe(readFileSync(new URL(n, MACHINES), 'utf8'));
  });

  test('a built-in; one in the etc directory shadows it; a path is that file', async () => {
    const etc = tmp();
    const b = await loadWorkflow('loop-mount', { etcDir: etc });
    expect(b.source).toEqual({ kind: 'builtin' });
    expect(b.sha256).toBe(sha256Of(b.definition));
    const changed = BUILTIN_TEXTS['loop-mount']!.replace('description: Attach an image file', 'description: Changed, attach an image file');
    writeFileSync(join(etc, 'loop-mount.yaml'), changed);
    const e = await loadWorkflow('loop-mount', { etcDir: etc });
    expect(e.source).toEqual({ kind: 'etc', path: join(etc, 'loop-mount.yaml') });
    expect(e.sha256).not.toBe(b.sha256);
    const f = await loadWorkflow('./loop-mount.yaml', { etcDir: '/nonexistent', cwd: etc });
    expect(f.source).toEqual({ kind: 'file', path: join(etc, 'loop-mount.yaml') });
    const list = await listWorkflows(etc);
    expect(list.map((w) => [w.name, w.source.kind, w.shadows])).toEqual([
      ['snapshot-image', 'builtin', false],
      ['pi-image', 'builtin', false],
      ['delayed-device', 'builtin', false],
      ['loop-mount', 'etc', true],
    ]);
  });

  test('an etc file whose workflow has another name is refused', async () => {
    const etc = tmp();
    writeFileSync(join(etc, 'other.yaml'), BUILTIN_TEXTS['loop-mount']!);
    await expect(loadWorkflow('other', { etcDir: etc })).rejects.toThrow(/named other\.yaml but its workflow is named loop-mount/);
  });

  test('the canonical definition alone gives the same steps as the file; comments and layout do not change it', async () => {
    tmp();
    const b = await loadWorkflow('loop-mount', { etcDir: dir });
    const rewritten = BUILTIN_TEXTS['loop-mount']!.replace(/^#.*\n/gm, '').replace(/\n\n/g, '\n');
    writeFileSync(join(dir, 'x.yaml'), rewritten);
    expect((await loadWorkflow(join(dir, 'x.yaml'), { etcDir: dir })).sha256).toBe(b.sha256);
    const fromData = workflowFromDefinition(JSON.parse(JSON.stringify(b.definition)), 'recorded');
    const params = { file: { path: '/srv/r.ext4', identity: { dev: '8:1', ino: 5 }, size: 1 << 20 }, mountpoint: { path: '/m', exists: true, create: [] }, 'read-only': true };
    const run = { id: 'abcdefgh', dir: '/run/flow', uuid: 'u' };
    const a = instantiate(b.workflow, params, run);
    const c = instantiate(fromData, params, run);
    const outs = { 'attach-file': { node: '/dev/loop0', majmin: '7:0', device: '/dev/loop0' } };
    expect(c.steps.map((s) => [s.name, s.kind, s.title, s.durable, s.args(outs)])).toEqual(a.steps.map((s) => [s.name, s.kind, s.title, s.durable, s.args(outs)]));
  });
});
