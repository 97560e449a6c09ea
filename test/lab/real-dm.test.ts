/**
 * The real dm facility against a real device-mapper. Runs in the kernel lab
 * (`scripts/lab run -- npx vitest run --project lab`); the hosts flow is developed on
 * have no device-mapper, so this file is not part of the host's unit project.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, open, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KernelError } from '../../src/errors.js';
import { tablesEqual } from '../../src/kernel/parse/dm-table.js';
import { onCommandStarted } from '../../src/kernel/exec.js';
import { createRealDm } from '../../src/kernel/real/dm.js';
import { createRealLoop } from '../../src/kernel/real/loop.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof KernelError ? err.code : String(err);
  }
}

if (!(existsSync('/dev/mapper/control') && /\bdevice-mapper\b/.test(readFileSync('/proc/misc', 'utf8')))) throw new Error('no device-mapper here: run this file in the kernel lab (scripts/lab)');

describe('real dm facility with real device-mapper', () => {
  it('create, info, table, status, EEXIST, EBUSY while open, remove by UUID, ENXIO', async () => {
    const real = createRealDm();
    const loop = createRealLoop();
    const tmp = await mkdtemp(join(tmpdir(), 'flow-real-dm-'));
    const suffix = `${process.pid}-${Date.now()}`;
    const name = `flow-test-${suffix}`;
    const uuid = `FLOW-test-${suffix}`;
    let device = '';
    try {
      const file = join(tmp, 'img.raw');
      await (await open(file, 'w')).close();
      await truncate(file, 4 << 20);
      const l = await loop.attach({ file, readOnly: true });
      device = l.device;
      const table = [`0 8192 linear ${l.majmin} 0`, '8192 8192 zero'];
      const started: (readonly string[])[] = [];
      const stop = onCommandStarted((c) => started.push(c.argv));
      const info = await real.create({ name, uuid, table }).finally(stop);
      expect(info).toMatchObject({ name, uuid, live: true, inactive: false, suspended: false, open: 0 });
      // one process: the device as `dmsetup create -v` printed it, the same as its info
      expect(started.map((a) => a.slice(0, 3))).toEqual([['dmsetup', 'create', '-v']]);
      expect(await real.info(name)).toEqual(info);
      expect(tablesEqual(await real.table(name), table)).toBe(true);
      expect(await real.status(name)).toEqual(['0 8192 linear', '8192 8192 zero']);
      expect(await real.targets()).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'linear' })]));
      expect(await codeOf(real.create({ name, uuid: `${uuid}-2`, table }))).toBe('EEXIST');
      expect(await codeOf(real.create({ name: `${name}-2`, uuid, table }))).toBe('EEXIST');
      const fh = await open(`/dev/dm-${info.minor}`, 'r');
      try {
        expect(await codeOf(real.remove(uuid))).toBe('EBUSY');
      } finally {
        await fh.close();
      }
      await real.resume(name);
      await real.remove(uuid);
      expect(await real.info(name)).toBeNull();
      expect(await codeOf(real.remove(uuid))).toBe('ENXIO');
      expect(await codeOf(real.table(name))).toBe('ENXIO');
    } finally {
      if (await real.info(name).catch(() => null)) await real.remove(uuid).catch(() => undefined);
      if (device) await loop.detach(device).catch(() => undefined);
      await rm(tmp, { recursive: true, force: true });
    }
  }, 120_000);
});
