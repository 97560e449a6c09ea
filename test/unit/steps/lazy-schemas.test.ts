/**
 * The step kinds' zod schemas are built on first use, once: loading the kinds (every
 * command that loads the engine or the show code) builds none (docs/PERFORMANCE.md).
 */
import { describe, expect, it, vi } from 'vitest';

const built = vi.hoisted(() => ({ objects: 0 }));
vi.mock('zod', async (importOriginal) => {
  const m = await importOriginal<typeof import('zod')>();
  const strictObject = ((...a: Parameters<typeof m.z.strictObject>) => (built.objects++, m.z.strictObject(...a))) as typeof m.z.strictObject;
  return { ...m, z: { ...m.z, strictObject } };
});

describe('src/steps/kinds', () => {
  it("builds a kind's schemas at their first use, once: loading the kinds and the engine builds none", async () => {
    const { KIND_NAMES, KIND_SPECS } = await import('../../../src/steps/kinds/index.js');
    await import('../../../src/steps/index.js');
    await import('../../../src/engine/step-actions.js');
    expect(built.objects).toBe(0);
    const first = KIND_SPECS['loop.attach'].schemas();
    expect(built.objects).toBe(2); // its arguments and its outputs
    expect(KIND_SPECS['loop.attach'].schemas()).toBe(first);
    expect(Object.keys(KIND_SPECS['loop.attach'].args)).toEqual(['file', 'identity', 'readOnly', 'offset', 'sizeLimit']);
    expect(built.objects).toBe(2);
    for (const k of KIND_NAMES) KIND_SPECS[k].schemas();
    expect(built.objects).toBe(2 * KIND_NAMES.length);
  });
});
