import { describe, expect, it } from 'vitest';
import type { LockOptions } from '../../../journal/lock.js';
import { SCENARIOS } from '../../support/scenarios.js';
import { World } from '../../support/world.js';

const ID = 'k3m9x2ab';

describe("a run's lock", () => {
  it('a new run waits up to 10 s for its own lock (flow recover may hold it an instant to remove a lock file left before anything was written); resume and rollback never wait', async () => {
    const w = World.create();
    const sc = SCENARIOS.find((s) => s.workflow === 'loop-mount')!;
    await sc.setup(w);
    const seen: [string, LockOptions][] = [];
    const acquire = w.locks.acquire.bind(w.locks);
    w.locks.acquire = (name, opts) => (seen.push([name, opts]), acquire(name, opts));
    expect((await w.start(sc.workflow, sc.options, ID)).phase).toBe('done');
    await expect((await w.runner()).resume(ID)).resolves.toMatchObject({ phase: 'done' });
    await expect((await w.runner()).rollback(ID)).resolves.toMatchObject({ phase: 'rolled-back' });
    expect(seen.filter(([n]) => n === `run-${ID}`).map(([, o]) => o)).toEqual([
      { wait: true, timeoutMs: 10_000, what: `run ${ID}` },
      { wait: false, what: `run ${ID}` },
      { wait: false, what: `run ${ID}` },
    ]);
  });
});
