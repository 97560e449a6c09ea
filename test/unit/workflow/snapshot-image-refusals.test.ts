/**
 * snapshot-image refused from its file alone (issue #9): every refusal its own TypeScript
 * preflight made (kept for format-1 runs: test/support/format1/snapshot-image.ts) comes, with
 * the same message and hint, from machines/snapshot-image.yaml's param types and `checks:`
 * through the generic preflight (src/preflight/workflow.ts) — and from a copy of the file
 * under another name, so nothing of it is the built-in's own.
 */
import { describe, expect, test } from 'vitest';
import { BUILTIN_TEXTS } from '../../../machines/builtins.js';
import { UsageError } from '../../../src/errors.js';
import { encodeSuperblock } from '../../../src/kernel/fake/ext.js';
import { preflightWorkflow } from '../../../src/preflight/workflow.js';
import type { RawOptions } from '../../../src/preflight/types.js';
import { loadText } from '../../../src/workflow/load.js';
import type { LoadedWorkflow } from '../../../src/workflow/source.js';
import { preflightFormat1 } from '../../support/format1/index.js';
import { EXT_IMAGE, makeExtImage, makePiImage, mbr, PI_IMAGE, putImageAsync } from '../../support/scenarios.js';
import { World } from '../../support/world.js';

const MiB = 1024 * 1024;
const ID = 'r3fu5a1s';
const COW = '/img/c.cow';

function loaded(name: string, kind: 'builtin' | 'file'): LoadedWorkflow {
  const text = BUILTIN_TEXTS['snapshot-image']!.replace(/^name: snapshot-image$/m, `name: ${name}`);
  const workflow = loadText(text, `${name}.yaml`);
  return { workflow, definition: {}, sha256: '', source: { kind, path: kind === 'file' ? `/tmp/${name}.yaml` : `builtin:${name}` } as LoadedWorkflow['source'], text };
}
const BUILTIN = loaded('snapshot-image', 'builtin');
const COPY = loaded('my-snapshot', 'file');

type Refusal = { message: string; hint: string | undefined } | 'ok';
async function refusal(f: () => Promise<unknown>): Promise<Refusal> {
  try {
    await f();
    return 'ok';
  } catch (err) {
    if (err instanceof UsageError) return { message: err.message, hint: err.hint };
    throw err;
  }
}

interface Case {
  what: string;
  setup?: (w: World) => Promise<void>;
  raw: RawOptions;
  /** the file's message where it is shorter than the old one (a text no test or README quotes) */
  message?: string;
}

const withPi = async (w: World) => makePiImage(w);
const CASES: Case[] = [
  { what: 'no --image', raw: {} },
  { what: 'an image that does not exist', raw: { image: '/img/nope.img' } },
  { what: '--partition out of range', setup: withPi, raw: { image: PI_IMAGE, partition: '3' } },
  { what: '--partition of an image without a table', setup: (w) => makeExtImage(w), raw: { image: EXT_IMAGE, partition: '1' } },
  { what: '--chunk not a power of two', setup: withPi, raw: { image: PI_IMAGE, chunk: '12' } },
  // the param's min: 8 says "too small" without the old reason (a chunk holds a 4096-byte zram block)
  { what: '--chunk too small', setup: withPi, raw: { image: PI_IMAGE, chunk: '4' }, message: '--chunk 4 is too small' },
  { what: '--chunk too large', setup: withPi, raw: { image: PI_IMAGE, chunk: '4194304' } },
  { what: '--chunk not a number', setup: withPi, raw: { image: PI_IMAGE, chunk: '16k' } },
  { what: '--name with a space', setup: withPi, raw: { image: PI_IMAGE, name: 'a b' } },
  { what: '--name too long for NAME-base', setup: withPi, raw: { image: PI_IMAGE, name: 'n'.repeat(123) } },
  { what: '--cow-size larger than memory (4 GiB here)', setup: withPi, raw: { image: PI_IMAGE, cowSize: '8G' } },
  { what: 'a filesystem with 1 KiB blocks and a zram COW', setup: (w) => makePiImage(w, PI_IMAGE, 1024), raw: { image: PI_IMAGE } },
  { what: 'a whole image with no filesystem', setup: async (w) => putImageAsync(w, '/img/blank.img', 16 * MiB, []), raw: { image: '/img/blank.img' } },
  { what: 'an image smaller than one sector', setup: async (w) => putImageAsync(w, '/img/tiny.img', 100, []), raw: { image: '/img/tiny.img' } },
  { what: 'a partition past the end of the image', setup: async (w) => putImageAsync(w, '/img/cut.img', 16 * MiB, [[0, mbr([{ type: 0x83, start: 2048, sectors: 65536 }])]]), raw: { image: '/img/cut.img' } },
  {
    what: 'a filesystem larger than its partition',
    setup: async (w) => putImageAsync(w, '/img/big.img', 16 * MiB, [[0, mbr([{ type: 0x83, start: 2048, sectors: 16384 }])], [2048 * 512 + 1024, encodeSuperblock({ uuid: '11111111-2222-4333-8444-555555555555', blockSize: 4096, blockCount: 4096 })]]),
    raw: { image: '/img/big.img' },
  },
  { what: 'a Linux partition with no filesystem', setup: async (w) => putImageAsync(w, '/img/nofs.img', 16 * MiB, [[0, mbr([{ type: 0x83, start: 2048, sectors: 16384 }])]]), raw: { image: '/img/nofs.img' } },
  { what: '--mountpoint with --no-mount', setup: withPi, raw: { image: PI_IMAGE, mountpoint: '/mnt/x', mount: false } },
  {
    what: 'an image attached read-write elsewhere',
    setup: async (w) => {
      await makePiImage(w);
      await w.kernel.loop.attach({ file: PI_IMAGE, readOnly: true });
      await w.kernel.loop.attach({ file: PI_IMAGE, readOnly: false });
    },
    raw: { image: PI_IMAGE },
  },
  { what: '--reuse-cow without --cow-file', setup: withPi, raw: { image: PI_IMAGE, reuseCow: true } },
  { what: '--cow-file that exists, without --reuse-cow', setup: async (w) => (await makePiImage(w), w.fs.putFile(COW, { size: 512 * MiB }, { durable: true })), raw: { image: PI_IMAGE, cowFile: COW } },
  { what: '--reuse-cow with a --cow-file of another size', setup: async (w) => (await makePiImage(w), w.fs.putFile(COW, { size: 16 * MiB }, { durable: true })), raw: { image: PI_IMAGE, cowFile: COW, reuseCow: true } },
  { what: '--reuse-cow with a --cow-file that does not exist', setup: withPi, raw: { image: PI_IMAGE, cowFile: COW, reuseCow: true } },
  {
    what: '--cow-file attached at a loop device',
    setup: async (w) => {
      await makePiImage(w);
      w.fs.putFile(COW, { size: 512 * MiB }, { durable: true });
      await w.kernel.loop.attach({ file: COW, readOnly: false });
    },
    raw: { image: PI_IMAGE, cowFile: COW, reuseCow: true },
  },
  { what: "--cow-file in a directory that does not exist", setup: withPi, raw: { image: PI_IMAGE, cowFile: '/nodir/c.cow' } },
];

async function worldFor(c: Case): Promise<World> {
  const w = World.create();
  await c.setup?.(w);
  return w;
}

describe('snapshot-image: each refusal of its old TypeScript preflight comes from its file, message and hint alike', () => {
  test.each(CASES.map((c) => [c.what, c] as const))('%s', async (_what, c) => {
    const old = await refusal(async () => preflightFormat1(await worldFor(c), 'snapshot-image', c.raw, ID));
    expect(old, 'the case is one the TS preflight refuses').not.toBe('ok');
    const w = await worldFor(c);
    const before = { tree: w.tree(), loops: await w.kernel.loop.list() };
    const expected = old !== 'ok' && c.message !== undefined ? { ...old, message: c.message } : old;
    expect(await refusal(async () => preflightWorkflow(BUILTIN, c.raw, w.preflightEnv(ID)))).toEqual(expected);
    // refused before anything changed
    expect(w.tree()).toEqual(before.tree);
    expect(await w.kernel.loop.list()).toEqual(before.loops);
  });

  test.each(CASES.filter((c) => c.raw.image !== undefined).map((c) => [c.what, c] as const))('a copy under another name refuses the same: %s', async (_what, c) => {
    const builtin = await refusal(async () => preflightWorkflow(BUILTIN, c.raw, (await worldFor(c)).preflightEnv(ID)));
    expect(await refusal(async () => preflightWorkflow(COPY, c.raw, (await worldFor(c)).preflightEnv(ID)))).toEqual(builtin);
  });

  test('an accepted run: the same image and options pass both', async () => {
    const c: Case = { what: 'ok', setup: withPi, raw: { image: PI_IMAGE, size: '128M', cowSize: '16M' } };
    expect(await refusal(async () => preflightFormat1(await worldFor(c), 'snapshot-image', c.raw, ID))).toBe('ok');
    const pf = await preflightWorkflow(BUILTIN, c.raw, (await worldFor(c)).preflightEnv(ID));
    expect(pf.params).toMatchObject({ image: { path: PI_IMAGE }, partition: { number: 2, start: 24576, sectors: 98304, filesystem: 'ext4', 'block-size': 4096, 'filesystem-size': 48 * MiB }, 'cow-size': 16 * MiB });
  });
});
