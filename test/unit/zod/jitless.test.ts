/**
 * flow's zod is jitless (src/zod.ts): parsing a run's journal and a workflow's params
 * compiles no code at run time (zod 4 otherwise builds each object schema's parser with
 * `new Function` at its first parse: code no V8 code cache holds, costly in a short process).
 * `Function` is watched before any of flow's schema modules is loaded.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';

const compiled: string[] = [];
const RealFunction = globalThis.Function;
globalThis.Function = new Proxy(RealFunction, {
  construct(target, args: string[]) {
    compiled.push(String(args.at(-1)).slice(0, 80));
    return Reflect.construct(target, args);
  },
  apply(target, self, args: string[]) {
    compiled.push(String(args.at(-1)).slice(0, 80));
    return Reflect.apply(target, self, args);
  },
});
afterAll(() => {
  globalThis.Function = RealFunction;
});

describe('zod compiles no parser at run time', () => {
  it('a format-1 journal of a done run is parsed and validated without new Function', async () => {
    const { parseRunFile } = await import('../../../journal/run-log.js');
    // the run's journal as flow wrote it, kept inside the golden fixture's file tree
    const golden = JSON.parse(readFileSync(new URL('../../fixtures/golden-format1/loop-mount-done.json', import.meta.url), 'utf8')) as { id: string; tree: { path: string; text?: string }[] };
    const file = `state/runs/${golden.id}.json`;
    const text = golden.tree.find((t) => t.path === file)?.text;
    expect(text).toBeDefined();
    const parsed = parseRunFile(Buffer.from(text!), golden.id, file);
    expect(parsed.doc.events.length).toBeGreaterThan(5);
    expect(compiled).toEqual([]);
  });

  it('a workflow param schema parses without new Function', async () => {
    const { paramSchema } = await import('../../../src/workflow/params.js');
    expect(paramSchema.parse({ type: 'size', description: 'how big' })).toMatchObject({ type: 'size' });
    expect(paramSchema.safeParse({ type: 'size', description: 'how big', extra: 1 }).success).toBe(false);
    expect(compiled).toEqual([]);
  });
});
