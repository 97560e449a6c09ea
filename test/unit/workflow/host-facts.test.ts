/**
 * What a user's file can refuse with since snapshot-image left its TypeScript preflight
 * (issue #9): `host.memory` in checks, a partition's `block-size` and `filesystem-size`, an
 * existing file's `attached-read-write`, an integer param's `hint`. Resolved on a simulated
 * host by the generic preflight (src/preflight/workflow.ts), typed by flow check.
 */
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { preflightWorkflow } from '../../../src/preflight/workflow.js';
import type { RawOptions } from '../../../src/preflight/types.js';
import { checkText, loadText } from '../../../src/workflow/load.js';
import type { LoadedWorkflow } from '../../../src/workflow/source.js';
import { makePiImage, PI_IMAGE } from '../../support/scenarios.js';
import { World } from '../../support/world.js';

const FILE = `name: scratch-copy
description: a user's snapshot of an image partition, in RAM
params:
  image:
    type: existing-file
    description: the image
    required: true
  part:
    type: partition
    of: image
    description: the partition
  ram:
    type: size
    description: the COW's size
    default: 16M
  ways:
    type: integer
    description: how many
    default: 2
    min: 1
    max: 4
    hint: one to four ways, e.g. 2
checks:
  - when: params.ram * params.ways > host.memory
    message: '\${size(params.ram * params.ways)} of COWs is more than this machine has (\${size(host.memory)})'
    hint: give a smaller --ram
  - when: params.part.block-size > 0 && params.part.block-size < 4096
    message: 'partition \${str(params.part.number == null ? 0 : params.part.number)} has \${params.part.block-size}-byte blocks'
  - when: params.part.filesystem-size > params.part.sectors * 512
    message: 'its filesystem claims \${params.part.filesystem-size} bytes'
  - when: params.image.attached-read-write != null
    message: 'in use read-write at \${params.image.attached-read-write}'
steps:
  - name: ram
    kind: zram.add
    title: add a zram device
    with:
      disksize: \${params.ram}
`;

const LOADED: LoadedWorkflow = { workflow: loadText(FILE, 'scratch-copy.yaml'), definition: {}, sha256: '', source: { kind: 'file', path: '/tmp/scratch-copy.yaml' } as LoadedWorkflow['source'], text: FILE };

async function refusal(setup: (w: World) => Promise<void>, raw: RawOptions): Promise<{ message: string; hint: string | undefined } | 'ok'> {
  const w = World.create(); // 4 GiB of memory
  await setup(w);
  try {
    await preflightWorkflow(LOADED, raw, w.preflightEnv('h0stf4ct'));
    return 'ok';
  } catch (err) {
    if (err instanceof UsageError) return { message: err.message, hint: err.hint };
    throw err;
  }
}

describe("a user's file refuses with the host's facts", () => {
  const pi = (w: World) => makePiImage(w);
  test('host.memory: the sum of two sizes against the machine', async () => {
    expect(await refusal(pi, { image: PI_IMAGE, ram: '1G', ways: '4' })).toBe('ok');
    expect(await refusal(pi, { image: PI_IMAGE, ram: '2G', ways: '3' })).toEqual({ message: '6G of COWs is more than this machine has (4G)', hint: 'give a smaller --ram' });
  });
  test("a partition's block size and the bytes its filesystem claims", async () => {
    expect(await refusal((w) => makePiImage(w, PI_IMAGE, 1024), { image: PI_IMAGE })).toEqual({ message: 'partition 2 has 1024-byte blocks', hint: undefined });
  });
  test('an image some loop device has read-write (a read-only binding is not that)', async () => {
    const roBound = async (w: World) => {
      await pi(w);
      await w.kernel.loop.attach({ file: PI_IMAGE, readOnly: true });
    };
    expect(await refusal(roBound, { image: PI_IMAGE })).toBe('ok');
    const r = await refusal(async (w) => {
      await roBound(w);
      await w.kernel.loop.attach({ file: PI_IMAGE, readOnly: false });
    }, { image: PI_IMAGE });
    expect(r).toEqual({ message: expect.stringMatching(/^in use read-write at \/dev\/loop\d+$/), hint: undefined });
  });
  test("an integer param's hint replaces the default one for every refused value", async () => {
    for (const ways of ['0', '5', 'x']) expect(await refusal(pi, { image: PI_IMAGE, ways })).toEqual({ message: expect.stringMatching(/^--ways /), hint: 'one to four ways, e.g. 2' });
  });
});

describe('flow check: host facts only in checks, and only those there are', () => {
  const problems = (text: string) => checkText(text, 't.yaml').problems.map((p) => p.message);
  test('host.memory in a step is refused, an unknown host fact too, a hint that is not text too', () => {
    expect(problems(FILE)).toEqual([]);
    expect(problems(FILE.replace('disksize: ${params.ram}', 'disksize: ${host.memory}'))).toEqual([expect.stringMatching(/host.memory is known only to checks/)]);
    expect(problems(FILE.replace('> host.memory', '> host.cpus'))).toEqual([expect.stringMatching(/unknown host fact "cpus"/)]);
    expect(problems(FILE.replace('hint: one to four ways, e.g. 2', 'hint: 3'))).not.toEqual([]);
  });
});
