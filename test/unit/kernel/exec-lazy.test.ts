/**
 * execa is loaded at the first command flow runs, not when src/kernel/exec.ts is imported:
 * commands that run none (help, plan, workflows, a refused run) never initialise it.
 */
import { describe, expect, it, vi } from 'vitest';

const loads = vi.hoisted(() => ({ execa: 0 }));
vi.mock('execa', async (importOriginal) => {
  loads.execa++;
  return await importOriginal();
});

describe('src/kernel/exec.ts', () => {
  it('imports execa only when it runs its first command, and once', async () => {
    const { runCommand } = await import('../../../src/kernel/exec.js');
    expect(loads.execa).toBe(0);
    const r = await runCommand(['true']);
    expect(r.exitCode).toBe(0);
    expect(loads.execa).toBe(1);
    await runCommand(['true']);
    expect(loads.execa).toBe(1);
  });
});
