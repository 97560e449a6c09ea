import { describe, expect, it } from 'vitest';
import type { StepDef, StepKind } from '../../../machines/types.js';
import { plan, type Action } from '../../../src/engine/plan.js';
import { trackOf, type Phase, type RunState, type StepState, type StepStatus } from '../../../src/engine/state.js';

const KINDS: Record<string, StepKind> = { a: 'loop.attach', r: 'partitions.check', d: 'dm.create', m: 'mount', g: 'fs.grow' };

/** "a:applied r:applied d:intended" → a RunState with those steps and statuses */
function state(spec: string): RunState {
  const steps = spec.split(' ').map((tok): StepState => {
    const [name, status] = tok.split(':') as [string, StepStatus];
    const def: StepDef = { name, kind: KINDS[name]!, title: name, durable: false, args: () => ({}) };
    return { name, def, status, undoing: status.startsWith('undo'), lost: false };
  });
  return { id: 'x', workflow: 'w', workflowVersion: 1, params: {}, created: '', updated: '', keepOnFailure: false, bootId: 'b', steps, lastSeq: 0, track: trackOf(steps) };
}

const cases: [string, Phase, string, Action][] = [
  ['fresh run applies the first step', 'forward', 'a:pending r:pending d:pending', { type: 'apply', step: 'a' }],
  ['continues after applied steps', 'forward', 'a:applied r:applied d:pending', { type: 'apply', step: 'd' }],
  ['an intent without outcome is probed first', 'forward', 'a:applied r:applied d:intended', { type: 'probe', step: 'd' }],
  ['a failed step is probed before retrying', 'forward', 'a:applied r:failed d:pending', { type: 'probe', step: 'r' }],
  ['a partial effect is cleaned', 'forward', 'a:applied r:applied d:partial', { type: 'clean', step: 'd' }],
  ['all applied: finish', 'forward', 'a:applied r:applied d:applied', { type: 'finish' }],
  ['after reboot a lost step is redone before a later in-doubt one', 'forward', 'a:pending r:intended d:pending', { type: 'apply', step: 'a' }],
  ['rollback undoes the last applied step first', 'rollback', 'a:applied r:applied d:applied', { type: 'undo', step: 'd' }],
  ['rollback skips steps without inverse', 'rollback', 'a:applied r:applied d:undone', { type: 'skip-undo', step: 'r', reason: 'read only' }],
  ['rollback probes an in-doubt step', 'rollback', 'a:applied r:applied d:intended', { type: 'probe', step: 'd' }],
  ['rollback probes an undo in doubt', 'rollback', 'a:applied r:undone d:undo-intended', { type: 'probe', step: 'd' }],
  ['rollback retries a failed undo after probing', 'rollback', 'a:applied r:undone d:undo-failed', { type: 'probe', step: 'd' }],
  ['rollback cleans a partial step', 'rollback', 'a:applied r:pending d:partial', { type: 'clean', step: 'd' }],
  ['rollback ignores steps never applied', 'rollback', 'a:applied r:pending d:pending', { type: 'undo', step: 'a' }],
  ['rollback finishes when nothing remains', 'rollback', 'a:undone r:undone d:pending', { type: 'finish-rollback' }],
  ['forward-only grow is skipped in rollback', 'rollback', 'a:applied g:applied', { type: 'skip-undo', step: 'g', reason: 'forward only; goes with the snapshot' }],
  ['a done run plans nothing', 'done', 'a:applied', { type: 'none', reason: 'run is done' }],
  ['an interrupted run plans nothing until resumed', 'interrupted', 'a:applied r:pending', { type: 'none', reason: 'run is interrupted' }],
];

describe('plan', () => {
  it.each(cases)('%s', (_name, phase, spec, expected) => {
    expect(plan(state(spec), phase)).toEqual(expected);
  });
});
