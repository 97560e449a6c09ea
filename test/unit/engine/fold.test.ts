import { describe, expect, it } from 'vitest';
import type { EventBody, FlowEvent } from '../../../journal/events.js';
import { JOURNAL_FORMAT } from '../../../journal/events.js';
import { loopMount } from '../../../machines/loop-mount.js';
import { fold, JournalMismatch } from '../../../src/engine/fold.js';

const params = { file: '/img/root.ext4', fileIdentity: { dev: '8:1', ino: 12 }, readOnly: false, mountpoint: '/mnt/x', mountDirs: ['/mnt/x'] };
const STEPS = ['attach-file', 'make-mountpoint', 'mount'];

function events(...bodies: EventBody[]): FlowEvent[] {
  const first: EventBody = { type: 'RunStarted', format: JOURNAL_FORMAT, flowVersion: 't', workflow: 'loop-mount', workflowVersion: loopMount.version, params, steps: STEPS, bootId: 'boot1', keepOnFailure: false };
  return [first, ...bodies].map((b, seq) => ({ ...b, seq, at: `2026-01-01T00:00:${String(seq).padStart(2, '0')}Z` }) as FlowEvent);
}

const intend = (step: string): EventBody => ({ type: 'StepIntended', step, args: {}, marker: {}, bootId: 'boot1' });
const ok = (step: string, outputs = {}): EventBody => ({ type: 'StepSucceeded', step, outputs });
const fullRun = STEPS.flatMap((s) => [intend(s), ok(s)]);

describe('fold', () => {
  it('folds a complete run to done with every step applied', () => {
    const f = fold('abcdefgh', events(...fullRun, { type: 'RunFinished' }));
    expect(f.phase).toBe('done');
    expect(f.state.steps.map((s) => s.status)).toEqual(['applied', 'applied', 'applied']);
  });

  it('a run cut after an intent has that step in doubt', () => {
    const f = fold('abcdefgh', events(intend('attach-file'), ok('attach-file', { device: '/dev/loop3' }), intend('make-mountpoint')));
    expect(f.phase).toBe('forward');
    expect(f.state.steps.map((s) => s.status)).toEqual(['applied', 'intended', 'pending']);
    expect(f.state.steps[0]!.outputs).toEqual({ device: '/dev/loop3' });
  });

  it('a full rollback ends rolled-back with every step undone', () => {
    const undo = (s: string): EventBody[] => [{ type: 'UndoIntended', step: s, bootId: 'boot1' }, { type: 'UndoSucceeded', step: s }];
    const f = fold('abcdefgh', events(...fullRun, { type: 'RunFinished' }, { type: 'RollbackStarted', reason: 'requested' }, ...undo('mount'), ...undo('make-mountpoint'), ...undo('attach-file'), { type: 'RollbackFinished' }));
    expect(f.phase).toBe('rolled-back');
    expect(f.state.steps.every((s) => s.status === 'undone')).toBe(true);
  });

  it('a reboot makes volatile steps lost and durable steps in doubt', () => {
    const f = fold('abcdefgh', events(...fullRun, { type: 'RunFinished' }, { type: 'BootChanged', from: 'boot1', to: 'boot2' }));
    expect(f.state.steps.map((s) => [s.status, s.lost])).toEqual([
      ['pending', true],
      ['intended', false],
      ['pending', true],
    ]);
    expect(f.state.bootId).toBe('boot2');
  });

  it('an operator resolves a stuck undo, after which rollback continues', () => {
    const stuck: EventBody[] = [...fullRun, { type: 'RunFinished' }, { type: 'RollbackStarted', reason: 'requested' }, { type: 'UndoIntended', step: 'mount', bootId: 'boot1' }, { type: 'UndoFailed', step: 'mount', error: { code: 'EBUSY', message: 'busy' } }, { type: 'NeedsOperator', step: 'mount', reason: 'busy', commands: ['umount /mnt/x'] }];
    const f = fold('abcdefgh', events(...stuck, { type: 'OperatorResolved', step: 'mount', as: 'absent', by: 'root' }, { type: 'RollbackStarted', reason: 'requested' }));
    expect(f.phase).toBe('rollback');
    expect(f.state.steps.map((s) => s.status)).toEqual(['applied', 'applied', 'undone']);
    expect(() => fold('abcdefgh', events(...stuck, { type: 'OperatorResolved', step: 'attach-file', as: 'absent', by: 'root' }))).toThrow(JournalMismatch);
  });

  const rejected: [string, EventBody[]][] = [
    ['a step out of order', [intend('make-mountpoint')]],
    ['an outcome without intent', [ok('attach-file')]],
    ['an unknown step', [intend('format-disk')]],
    ['finishing early', [intend('attach-file'), ok('attach-file'), { type: 'RunFinished' }]],
    ['an undo before rollback', [intend('attach-file'), ok('attach-file'), { type: 'UndoIntended', step: 'attach-file', bootId: 'boot1' }]],
    ['a resume after rollback finished', [{ type: 'RollbackStarted', reason: 'requested' }, { type: 'RollbackFinished' }, { type: 'ResumeStarted' }]],
    ['a boot change from the wrong boot', [{ type: 'BootChanged', from: 'bootX', to: 'boot2' }]],
    ['a probe of a step not in doubt', [{ type: 'StepProbed', step: 'attach-file', found: 'applied' }]],
  ];
  it.each(rejected)('rejects a journal with %s', (_name, bodies) => {
    expect(() => fold('abcdefgh', events(...bodies))).toThrow(JournalMismatch);
  });

  it('rejects a journal from another workflow version', () => {
    const ev = events();
    (ev[0] as { workflowVersion: number }).workflowVersion = 99;
    expect(() => fold('abcdefgh', ev)).toThrow(/version 99/);
  });

  it('rejects params that do not validate', () => {
    const ev = events();
    (ev[0] as { params: Record<string, unknown> }).params = { file: 3 };
    expect(() => fold('abcdefgh', ev)).toThrow(/params do not validate/);
  });
});
