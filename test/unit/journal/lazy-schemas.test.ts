/**
 * The journal's zod schemas are built on first use, once: a command that reads and writes
 * no journal (help, plan, workflows) never pays for them at start-up.
 */
import { describe, expect, it, vi } from 'vitest';

const built = vi.hoisted(() => ({ unions: 0 }));
vi.mock('zod', async (importOriginal) => {
  const m = await importOriginal<typeof import('zod')>();
  const discriminatedUnion = ((...a: Parameters<typeof m.z.discriminatedUnion>) => (built.unions++, m.z.discriminatedUnion(...a))) as typeof m.z.discriminatedUnion;
  return { ...m, z: { ...m.z, discriminatedUnion } };
});

describe('journal/events.ts', () => {
  it('builds the event schema at its first use, once', async () => {
    const { eventSchema, runDocumentSchema } = await import('../../../journal/events.js');
    expect(built.unions).toBe(0);
    expect(eventSchema().safeParse({ seq: 0, at: 'x', type: 'ResumeStarted' }).success).toBe(true);
    expect(eventSchema().safeParse({ seq: 0, at: 'x', type: 'Bogus' }).success).toBe(false);
    expect(runDocumentSchema().safeParse({ format: 2, id: 'abcdefgh', events: [] }).success).toBe(false);
    expect(built.unions).toBe(1);
  });
});
