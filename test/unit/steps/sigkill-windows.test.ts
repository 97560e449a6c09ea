/**
 * The real-kernel SIGKILL matrix (test/lab/sigkill-matrix.ts) takes which device appears in
 * which step's window from the kinds' specs, the source `flow verify` uses
 * (`unmarked.operatorWindow`, `show.node`): derived here for the built-ins' steps.
 */
import { describe, expect, it } from 'vitest';
import { workflows } from '../../../machines/index.js';
import { STEP_POINTS } from '../../../src/engine/crash-points.js';
import { KIND_SPECS } from '../../../src/steps/kinds/index.js';
import { operatorStopRight, stepsMaking, stepsOfKind, type KillVariant } from '../../lab/sigkill-host.js';

const EXAMPLES: Record<string, Record<string, unknown>> = {
  'snapshot-image': { image: '/i', imageIdentity: { dev: '1:1', ino: 1 }, partition: 1, partStart: 2048, partSectors: 4096, size: 4194304, cowSize: 1048576, chunk: 16, name: 'n', mountpoint: '/m', mountDirs: ['/m'], grow: true },
  'delayed-device': { file: '/f', createFile: true, fileIdentity: null, size: 8388608, readDelay: 1, writeDelay: 1, name: 'n', fsUuid: '00000000-0000-4000-8000-000000000000', mountpoint: '/m', mountDirs: ['/m'], sync: true },
  'loop-mount': { file: '/f', fileIdentity: { dev: '1:1', ino: 1 }, readOnly: false, mountpoint: '/m', mountDirs: ['/m'] },
};

/** step name → kind, in order, of a built-in's run */
function kindsOf(name: string): Map<string, string> {
  const wf = Object.values(workflows).find((w) => w.name === name)!;
  return new Map(wf.steps(wf.parseParams(EXAMPLES[name]!), 'abcdefgh').map((d) => [d.name, d.kind]));
}

/** Every apply point × kill variant where a stop for the operator is right, as `step:point#variant`. */
function stops(kinds: Map<string, string>): string[] {
  const variants: KillVariant[] = ['plain', 'alone', 'group'];
  return [...kinds.keys()].flatMap((step) => STEP_POINTS.flatMap((p) => variants.filter((v) => operatorStopRight(`apply:${step}:${p}`, v, kinds)).map((v) => `${step}:${p}#${v}`)));
}

describe('the SIGKILL matrix’s windows, from the kinds’ specs', () => {
  it('snapshot-image: its loop after losetup ran, its zram from the hot_add on; nothing else, no undo point', () => {
    const k = kindsOf('snapshot-image');
    expect(stops(k)).toEqual([
      'attach-image:command-running#alone',
      'attach-image:command-running#group',
      'attach-image:command-done#plain',
      'attach-image:command-done#alone',
      'attach-image:command-done#group',
      'attach-image:outcome-appended#plain',
      'attach-image:outcome-appended#alone',
      'attach-image:outcome-appended#group',
      'add-cow:command-running#plain',
      'add-cow:command-running#alone',
      'add-cow:command-running#group',
      'add-cow:command-done#plain',
      'add-cow:command-done#alone',
      'add-cow:command-done#group',
      'add-cow:outcome-appended#plain',
      'add-cow:outcome-appended#alone',
      'add-cow:outcome-appended#group',
    ]);
    expect(operatorStopRight('undo:attach-image:command-done', 'plain', k)).toBe(false);
    expect(operatorStopRight('start-written', 'plain', k)).toBe(false);
    expect([stepsMaking('loop', k), stepsMaking('zram', k), stepsMaking('dm', k), stepsMaking('mountpoint', k), stepsOfKind('dir.make', k), stepsMaking('file', k)]).toEqual([
      ['attach-image'],
      ['add-cow'],
      ['create-base', 'create-snapshot'],
      ['mount'],
      ['make-mountpoint'],
      [],
    ]);
  });

  it('delayed-device and loop-mount: their loop step; the file delayed-device creates', () => {
    for (const name of ['delayed-device', 'loop-mount']) {
      const k = kindsOf(name);
      expect(new Set(stops(k).map((s) => s.split(':')[0]))).toEqual(new Set(['attach-file']));
      expect(stepsMaking('zram', k)).toEqual([]);
    }
    expect(stepsMaking('file', kindsOf('delayed-device'))).toEqual(['create-file']);
    expect(stepsMaking('file', kindsOf('loop-mount'))).toEqual([]);
  });

  it('follows the specs: a kind whose window changes changes the matrix’s (the derivation can fail)', () => {
    const k = kindsOf('loop-mount');
    const spec = KIND_SPECS['loop.attach'] as { unmarked?: { operatorWindow: readonly string[] } };
    const was = spec.unmarked;
    try {
      spec.unmarked = { operatorWindow: ['outcome-appended'] };
      expect(stops(k)).toEqual(['attach-file:command-running#alone', 'attach-file:command-running#group', 'attach-file:outcome-appended#plain', 'attach-file:outcome-appended#alone', 'attach-file:outcome-appended#group']);
      spec.unmarked = undefined;
      expect(stops(k)).toEqual([]);
    } finally {
      spec.unmarked = was;
    }
  });
});
