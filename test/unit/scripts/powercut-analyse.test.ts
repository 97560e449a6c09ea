/**
 * The power-cut tier's expected end state of a done run (test/powercut/analyse.ts) from its
 * recorded params: a snapshot-image run records its file's params now (image and partition
 * as objects, kebab-case names), a format-1 run the TS shape. Both shapes of one run must
 * give the same dm tables, loops, COWs, mounts and grown blocks (the r1 round once expected
 * '[object Object] rw' loops when delayed-device's shape changed).
 */
import { describe, expect, test } from 'vitest';
import { BUILTIN_TEXTS } from '../../../machines/builtins.js';
import type { RawOptions } from '../../../src/preflight/types.js';
import { preflightWorkflow } from '../../../src/preflight/workflow.js';
import { loadText } from '../../../src/workflow/load.js';
import type { LoadedWorkflow } from '../../../src/workflow/source.js';
import { expectedDone } from '../../powercut/analyse.js';
import { preflightFormat1 } from '../../support/format1/index.js';
import { makePiImage, PI_IMAGE } from '../../support/scenarios.js';
import { World } from '../../support/world.js';

const ID = 'p0wercut';
const text = BUILTIN_TEXTS['snapshot-image']!;
const LOADED: LoadedWorkflow = { workflow: loadText(text, 'snapshot-image.yaml'), definition: {}, sha256: '', source: { kind: 'builtin' } as LoadedWorkflow['source'], text };

describe('powercut analyse: a done snapshot-image run, from the params either flow recorded', () => {
  test.each([
    ['grown (--size larger than the partition)', { image: PI_IMAGE, size: '128M', cowSize: '16M', name: 'pc-s' }],
    ['not grown (--no-grow)', { image: PI_IMAGE, size: '128M', cowSize: '16M', name: 'pc-s', grow: false }],
  ] as [string, RawOptions][])('%s', async (_what, raw) => {
    const w = World.create();
    await makePiImage(w);
    const fileShape = (await preflightWorkflow(LOADED, raw, w.preflightEnv(ID))).params as Record<string, unknown>;
    const tsShape = (await preflightFormat1(w, 'snapshot-image', raw, ID)) as Record<string, unknown>;
    const fromFile = expectedDone({ id: ID, fs: 'main', workflow: 'snapshot-image', params: fileShape });
    const fromTs = expectedDone({ id: ID, fs: 'main', workflow: 'snapshot-image', params: tsShape });
    expect(fromFile).toEqual(fromTs);
    expect(fromFile.dm.get('pc-s-base')).toEqual([`0 98304 linear loop(${PI_IMAGE}) 24576`, `98304 163840 zero`]);
    expect(fromFile.loops).toEqual([`${PI_IMAGE} ro`]);
    expect(fromFile.cows).toEqual([String(16 * 1024 * 1024)]);
    expect(fromFile.mounts).toEqual([`/run/flow/${ID}/mnt dm(pc-s) ext4 rw`]);
    expect(fromFile.blocks.has('pc-s')).toBe(raw.grow !== false);
  });
});
