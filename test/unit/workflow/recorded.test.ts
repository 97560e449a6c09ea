/** fold's steps of a run that recorded its definition come from the journal alone (src/engine/fold.ts stepsOf). */
import { describe, expect, test } from 'vitest';
import type { EventOf } from '../../../journal/events.js';
import { JournalMismatch, stepsOf } from '../../../src/engine/fold.js';
import { loadWorkflow } from '../../../src/workflow/source.js';

const params = { file: { path: '/srv/r.ext4', identity: { dev: '8:1', ino: 5 }, size: 1 << 20 }, mountpoint: { path: '/m', exists: true, create: [] }, 'read-only': true };

async function first(edit: (d: any) => void = () => undefined): Promise<EventOf<'RunStarted'>> {
  const l = await loadWorkflow('loop-mount', { etcDir: '/nonexistent' });
  const definition = { sha256: l.sha256, source: l.source, workflow: structuredClone(l.definition), params, run: { dir: '/run/flow', uuid: 'u' } };
  edit(definition);
  return { seq: 0, at: 'now', type: 'RunStarted', format: 1, flowVersion: 'x', workflow: 'loop-mount', workflowVersion: 99, params: {}, steps: ['attach-file', 'mount'], bootId: 'b', keepOnFailure: false, definition } as EventOf<'RunStarted'>;
}

describe('stepsOf a run with a recorded definition', () => {
  test('the steps and their arguments come from the definition, whatever the built-in version says', async () => {
    const defs = stepsOf(await first(), 'abcdefgh');
    expect(defs.map((d) => d.name)).toEqual(['attach-file', 'mount']);
    expect(defs[1]!.args({ 'attach-file': { node: '/dev/loop3', majmin: '7:3' } })).toEqual({ source: '/dev/loop3', majmin: '7:3', target: '/m', options: ['ro'] });
  });

  test('a definition that does not match its sha256 is refused as a journal that does not fit', async () => {
    const f = await first((d) => (d.workflow.steps[0].with.readOnly = false));
    expect(() => stepsOf(f, 'abcdefgh')).toThrow(JournalMismatch);
    expect(() => stepsOf(f, 'abcdefgh')).toThrow(/does not match its sha256/);
  });

  test('recorded step names that differ from the definition are refused', async () => {
    const f = { ...(await first()), steps: ['attach-file', 'make-mountpoint', 'mount'] };
    expect(() => stepsOf(f, 'abcdefgh')).toThrow(/differ from the definition/);
  });
});
