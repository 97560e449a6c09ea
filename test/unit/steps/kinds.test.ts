/** The step kinds' specs (src/steps/kinds/): complete, consistent, and the documents rendered from them. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { workflows } from '../../../machines/index.js';
import { executors } from '../../../src/steps/index.js';
import { KIND_NAMES, KIND_SPECS } from '../../../src/steps/kinds/index.js';
import { BEGIN, END, kindsReference, kindsTable, withSection } from '../../../src/steps/kinds/reference.js';

const read = (p: string) => readFileSync(new URL(`../../../${p}`, import.meta.url), 'utf8');

describe('the step kinds reference is generated from the specs', () => {
  it.each([
    ['README.md', kindsTable],
    ['docs/WORKFLOWS.md', kindsReference],
  ])('%s holds exactly the rendering (else: node scripts/gen-kinds-reference.mjs)', (file, render) => {
    const doc = read(file);
    expect(doc).toContain(BEGIN);
    expect(doc).toContain(END);
    expect(doc).toBe(withSection(doc, render()));
  });

  it('names every kind, its arguments and outputs', () => {
    const ref = kindsReference();
    for (const s of Object.values(KIND_SPECS)) {
      expect(ref).toContain(`### \`${s.kind}\``);
      for (const n of [...Object.keys(s.args), ...Object.keys(s.outputs)]) expect(ref).toContain(`\`${n}\``);
    }
    expect(kindsTable().split('\n')).toHaveLength(2 + KIND_NAMES.length);
  });

  it('a changed spec changes the rendering (the check can fail)', () => {
    const doc = read('README.md');
    const was = KIND_SPECS.mount.summary;
    try {
      (KIND_SPECS.mount as { summary: string }).summary = 'something else';
      expect(withSection(doc, kindsTable())).not.toBe(doc);
    } finally {
      (KIND_SPECS.mount as { summary: string }).summary = was;
    }
  });
});

describe('every kind is one complete spec', () => {
  it.each(KIND_NAMES)('%s: an executor, a doc for every output, placeholders for every output', (kind) => {
    const s = KIND_SPECS[kind];
    expect(s.kind).toBe(kind);
    expect(executors[kind]).toBeDefined();
    expect(Object.keys(s.outputDocs).sort()).toEqual(Object.keys(s.outputs).sort());
    const args = Object.fromEntries(Object.keys(s.args).map((n) => [n, `<${n}>`]));
    const planned = s.placeholders(args, (what) => `<${what} of step>`);
    expect(Object.keys(planned).sort()).toEqual(Object.keys(s.outputs).sort());
  });

  it("the frozen built-in definitions (format-1 journals) agree with each kind's durability", () => {
    // the TypeScript definitions still set `durable` per step: it must be the kind's
    const examples: Record<string, Record<string, unknown>> = {
      'snapshot-image': { image: '/i', imageIdentity: { dev: '1:1', ino: 1 }, partition: 1, partStart: 2048, partSectors: 4096, size: 4194304, cowSize: 1048576, chunk: 16, name: 'n', mountpoint: '/m', mountDirs: ['/m'], grow: true },
      'delayed-device': { file: '/f', createFile: true, fileIdentity: null, size: 8388608, readDelay: 1, writeDelay: 1, name: 'n', fsUuid: '00000000-0000-4000-8000-000000000000', mountpoint: '/m', mountDirs: ['/m'], sync: true },
      'loop-mount': { file: '/f', fileIdentity: { dev: '1:1', ino: 1 }, readOnly: false, mountpoint: '/m', mountDirs: ['/m'] },
    };
    for (const wf of Object.values(workflows)) {
      const defs = wf.steps(wf.parseParams(examples[wf.name]!), 'abcdefgh');
      expect(defs.length).toBeGreaterThan(0);
      for (const d of defs) expect([wf.name, d.name, d.durable]).toEqual([wf.name, d.name, KIND_SPECS[d.kind].durable]);
    }
  });
});

describe("each kind's preflight", () => {
  it('a kind that refuses documents what (the reference says it), and only such a kind', () => {
    for (const s of Object.values(KIND_SPECS)) expect([s.kind, s.preflight !== undefined]).toEqual([s.kind, s.refuses !== undefined]);
    expect(kindsReference()).toContain('Refused before anything changes: a name another device holds.');
  });

  it('names the option an argument came from (argOrigin), else the step and its argument', async () => {
    const { loadWorkflow } = await import('../../../src/workflow/source.js');
    const { argOrigin } = await import('../../../src/preflight/kinds.js');
    const wf = (await loadWorkflow('snapshot-image', { etcDir: '/nonexistent' })).workflow;
    expect(argOrigin(wf, 'create-base', 'name')).toBe('--name'); // ${params.name}-base
    expect(argOrigin(wf, 'attach-image', 'file')).toBe('--image');
    expect(argOrigin(wf, 'mount', 'source')).toBe('step mount: source'); // an earlier step's output
  });
});
