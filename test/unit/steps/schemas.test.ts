/**
 * Each step kind's arguments and outputs are zod schemas (src/steps/kinds/<kind>.ts): built
 * at their first use, the source of what `flow check` types and the reference shows, and
 * checked by the engine on every step it applies (its resolved arguments before the
 * intent, the outputs apply returns before the outcome). Their laziness: lazy-schemas.test.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { StepSchemaError } from '../../../src/errors.js';
import { executors } from '../../../src/steps/index.js';
import { KIND_SPECS } from '../../../src/steps/kinds/index.js';
import { kindsReference } from '../../../src/steps/kinds/reference.js';
import { checkArgs } from '../../../src/steps/kinds/schema.js';
import { defineKind } from '../../../src/steps/kinds/spec.js';
import { SCENARIOS } from '../../support/scenarios.js';
import { World } from '../../support/world.js';

/** One step of the built-in loop-mount (a format-1 definition, as every fold of its run reads it) with its resolved arguments changed. */
const edit = vi.hoisted(() => ({ step: '', fn: undefined as undefined | ((a: Record<string, unknown>) => Record<string, unknown>) }));
vi.mock('../../../machines/index.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../../machines/index.js')>();
  const findWorkflow: typeof m.findWorkflow = (name) => {
    const wf = m.findWorkflow(name);
    const fn = edit.fn;
    if (!wf || !fn) return wf;
    return { ...wf, steps: (p, id) => wf.steps(p, id).map((d) => (d.name === edit.step ? { ...d, args: (o) => fn(d.args(o) as Record<string, unknown>) } : d)) };
  };
  return { ...m, findWorkflow };
});

const ID = 'k3m9x2ab';

describe('the kinds’ zod schemas', () => {
  it('are what flow check types and the reference shows: type, optional, description, added and internal fields', async () => {
    const loop = KIND_SPECS['loop.attach'];
    expect(loop.args.offset).toEqual({ ty: { k: 'int' }, optional: true, doc: 'bytes into the file; default 0' });
    expect(loop.args.identity!.ty).toEqual({ k: 'record', fields: { dev: { k: 'string' }, ino: { k: 'int' } } });
    expect(KIND_SPECS['partitions.check'].args.partition!.ty).toEqual({ k: 'opt', of: { k: 'int' } });
    // recorded for the executor itself, not referable as steps.NAME.X
    expect(Object.keys(loop.outputs)).toEqual(['device', 'node', 'majmin', 'readOnly']);
    expect(Object.keys(loop.schemas().outputs.shape)).toContain('diskseq');
    // set by flow, never written in a file
    expect(Object.keys(KIND_SPECS['dm.create'].args)).toEqual(['name', 'table']);
    expect(KIND_SPECS['dm.create'].added).toEqual(['uuid']);
    expect(KIND_SPECS['dm.create'].args.table!.shown).toBe('list of segments');
    // a description written in the schema is the one the reference shows
    const { args, added, outputs, outputDocs, ...def } = loop;
    void [args, added, outputs, outputDocs];
    const other = defineKind({ ...def, schemas: () => ({ ...loop.schemas(), args: z.strictObject({ file: z.string().describe('somewhere else') }) }) });
    expect(other.args).toEqual({ file: { ty: { k: 'string' }, doc: 'somewhere else' } });
    expect(kindsReference()).toContain('  - `offset` (integer, optional): bytes into the file; default 0');
    expect(() => defineKind({ ...def, schemas: () => ({ ...loop.schemas(), args: z.strictObject({ file: z.string() }) }) }).args).toThrow('loop.attach: the argument file has no description');
  });

  it('a step\'s arguments: what fits is accepted; a wrong type, a missing or an unknown argument is refused, naming each', async () => {
    const s = KIND_SPECS['zram.add'].schemas();
    expect(() => checkArgs(s, ID, 'add-cow', { disksize: 1 << 20 })).not.toThrow();
    const err = (() => {
      try {
        checkArgs(s, ID, 'add-cow', { disksize: '16M', algorithm: 3, colour: 'red' });
      } catch (e) {
        return e as StepSchemaError;
      }
      throw new Error('not refused');
    })();
    expect(err).toBeInstanceOf(StepSchemaError);
    expect(err.message).toBe('step add-cow: its arguments do not fit its kind: disksize: expected an integer, got "16M"; algorithm: expected a string, got 3; unknown "colour"');
    expect(() => checkArgs(s, ID, 'add-cow', {})).toThrow('disksize: missing');
  });
});

describe('the engine checks every step against its kind', () => {
  const sc = SCENARIOS.find((s) => s.workflow === 'loop-mount')!;

  it('resolved arguments that do not fit: refused before the intent, naming the step and the argument; rollback undoes the steps before', async () => {
    const w = World.create();
    await sc.setup(w);
    const kernelBefore = w.kernel.snapshotState();
    const treeBefore = w.tree();
    Object.assign(edit, { step: 'mount', fn: (a: Record<string, unknown>) => ({ ...a, readOnly: 'yes' }) });
    let err: unknown;
    try {
      err = await w.start('loop-mount', sc.options, ID).then(() => undefined, (e: unknown) => e);
    } finally {
      edit.fn = undefined;
    }
    expect(err).toBeInstanceOf(StepSchemaError);
    expect((err as Error).message).toBe('step mount: its arguments do not fit its kind: readOnly: expected a boolean, got "yes"');
    const events = (await (await w.store()).load(ID)).events;
    expect(events.some((e) => e.type === 'StepIntended' && e.step === 'mount')).toBe(false);
    expect(events.filter((e) => e.type === 'StepSucceeded').map((e) => (e as { step: string }).step)).toEqual(['attach-file', 'make-mountpoint']);
    const back = await (await w.runner()).rollback(ID);
    expect(back.phase).toBe('rolled-back');
    expect(w.kernel.snapshotState()).toEqual(kernelBefore);
    expect(w.tree()).toEqual(treeBefore);
  });

  it('outputs apply returns that do not fit: no outcome is recorded (the step is in doubt), and resume probes it', async () => {
    const w = World.create();
    await sc.setup(w);
    const real = executors.mount.apply;
    const spy = vi.spyOn(executors.mount, 'apply').mockImplementation(async (...a) => ({ ...(await real(...a)), target: 7 }));
    let err: unknown;
    try {
      err = await w.start('loop-mount', sc.options, ID).then(() => undefined, (e: unknown) => e);
    } finally {
      spy.mockRestore();
    }
    expect(err).toBeInstanceOf(StepSchemaError);
    expect((err as Error).message).toBe('step mount: what it recorded does not fit its kind: target: expected a string, got 7');
    const events = (await (await w.store()).load(ID)).events;
    expect(events.some((e) => e.type === 'StepIntended' && e.step === 'mount')).toBe(true);
    expect(events.some((e) => e.type === 'StepSucceeded' && e.step === 'mount')).toBe(false);
    w.processCrash();
    const out = await (await w.runner()).resume(ID);
    expect(out.phase).toBe('done');
    const after = (await (await w.store()).load(ID)).events;
    expect(after.find((e) => e.type === 'StepProbed' && e.step === 'mount')).toMatchObject({ found: 'applied' });
  });
});
