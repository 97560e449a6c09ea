/**
 * Folding is linear: N events cost O(N) whatever the number of steps, and plan after the
 * fold is O(1) (a cursor on the next step, not a scan). Proved by COUNTING work, never by
 * timing: the steps the fold and plan examine (state.ts foldWork.stepVisits: cursor moves,
 * the steps a reboot changes) and the machine's guard evaluations (machine.ts guardWork)
 * per event, on journals of very different shapes and sizes. The journals are made by a
 * runner-like driver that asks plan what to do next; a second table checks that the
 * machine still accepts exactly what plan (the full scan it replaced) would do next.
 */
import { describe, expect, it } from 'vitest';
import { JOURNAL_FORMAT, type EventBody, type EventOf, type FlowEvent } from '../../../journal/events.js';
import type { StepDef, StepKind } from '../../../machines/types.js';
import { kindHasInverse } from '../../../src/steps/kinds/index.js';
import { fold, JournalMismatch, RunCursor } from '../../../src/engine/fold.js';
import { guardWork } from '../../../src/engine/machine.js';
import { plan, type Action } from '../../../src/engine/plan.js';
import { foldWork, type Phase, type StepState } from '../../../src/engine/state.js';

const AT = '2026-01-01T00:00:00.000Z';

/** `n` steps; every third one volatile (lost at a reboot), the others durable (in doubt after one). */
function defsOf(n: number): StepDef[] {
  return Array.from({ length: n }, (_, i): StepDef => {
    const kind: StepKind = i % 3 === 2 ? 'loop.attach' : 'dir.make';
    return { name: `s${i}`, kind, title: `step ${i}`, durable: kind === 'dir.make', args: () => ({}) };
  });
}

/** A runner-like driver: appends what plan says, through a RunCursor (so every event is one the machine accepts). */
class Driver {
  readonly events: FlowEvent[] = [];
  readonly cursor: RunCursor;
  boot = 0;

  constructor(readonly defs: StepDef[]) {
    const first = { type: 'RunStarted', format: JOURNAL_FORMAT, flowVersion: 't', workflow: 'synthetic', workflowVersion: 1, params: {}, steps: defs.map((d) => d.name), bootId: 'boot0', keepOnFailure: false, seq: 0, at: AT } as EventOf<'RunStarted'>;
    this.events.push(first);
    this.cursor = new RunCursor('abcdefgh', first, defs);
  }

  add(body: EventBody): void {
    const e = { ...body, seq: this.events.length, at: AT } as FlowEvent;
    this.cursor.feed(e);
    this.events.push(e);
  }

  /** Does what plan says `k` times (or until it says nothing). */
  step(k = Infinity): this {
    for (let i = 0; i < k; i++) {
      const a = plan(this.cursor.state, this.cursor.phase);
      const bootId = this.cursor.state.bootId;
      switch (a.type) {
        case 'apply':
          this.add({ type: 'StepIntended', step: a.step, args: {}, marker: {}, bootId });
          this.add({ type: 'StepSucceeded', step: a.step, outputs: { n: 1 } });
          break;
        case 'probe':
          this.add({ type: 'StepProbed', step: a.step, found: 'applied', outputs: { n: 1 } });
          break;
        case 'clean':
          this.add({ type: 'StepCleaned', step: a.step });
          break;
        case 'undo':
          this.add({ type: 'UndoIntended', step: a.step, bootId });
          this.add({ type: 'UndoSucceeded', step: a.step });
          break;
        case 'skip-undo':
          this.add({ type: 'UndoSkipped', step: a.step, reason: a.reason });
          break;
        case 'finish':
          this.add({ type: 'RunFinished' });
          return this;
        case 'finish-rollback':
          this.add({ type: 'RollbackFinished' });
          return this;
        case 'none':
          return this;
      }
    }
    return this;
  }

  interruptAndResume(reboot: boolean): this {
    this.add({ type: 'RunInterrupted', signal: 'SIGINT' });
    if (reboot) this.add({ type: 'BootChanged', from: `boot${this.boot}`, to: `boot${++this.boot}` });
    this.add({ type: 'ResumeStarted' });
    return this;
  }
}

/** Journal shapes, each made for a given number of steps. */
const SHAPES: [string, (steps: number) => FlowEvent[]][] = [
  ['a forward run to the end', (n) => new Driver(defsOf(n)).step().events],
  ['a run to the end, then a rollback to the end', (n) => {
    const d = new Driver(defsOf(n)).step();
    d.add({ type: 'RollbackStarted', reason: 'requested' });
    return d.step().events;
  }],
  ['a long run resumed many times (half applied, 4 x steps interrupt/resume pairs)', (n) => {
    const d = new Driver(defsOf(n)).step(Math.floor(n / 2));
    for (let i = 0; i < 2 * n; i++) d.interruptAndResume(false);
    return d.step().events;
  }],
  ['reboots between every few steps (lost volatile steps redone, durable ones probed)', (n) => {
    const d = new Driver(defsOf(n));
    for (let i = 0; i < n / 10 && d.step(20).cursor.phase === 'forward'; i++) d.interruptAndResume(true);
    return d.step().events;
  }],
  ['a rollback interrupted by reboots', (n) => {
    const d = new Driver(defsOf(n)).step();
    d.add({ type: 'RollbackStarted', reason: 'requested' });
    for (let i = 0; i < n / 10 && d.step(10).cursor.phase === 'rollback'; i++) {
      d.add({ type: 'RunInterrupted', signal: 'SIGTERM' });
      d.add({ type: 'BootChanged', from: `boot${d.boot}`, to: `boot${++d.boot}` });
      d.add({ type: 'RollbackStarted', reason: 'recover' });
    }
    return d.step().events;
  }],
];

function measure(events: FlowEvent[], steps: number): { visits: number; guards: number; planVisits: number; phase: Phase } {
  const defs = defsOf(steps);
  const first = events[0] as EventOf<'RunStarted'>;
  foldWork.stepVisits = 0;
  guardWork.calls = 0;
  const c = new RunCursor('abcdefgh', first, defs);
  for (const e of events.slice(1)) c.feed(e);
  const visits = foldWork.stepVisits;
  const guards = guardWork.calls;
  foldWork.stepVisits = 0;
  for (let i = 0; i < 100; i++) plan(c.state, c.phase);
  return { visits, guards, planVisits: foldWork.stepVisits, phase: c.phase };
}

describe('fold and plan cost O(1) per event, whatever the number of steps (counted work)', () => {
  it.each(SHAPES)('%s', (_name, make) => {
    const perEvent: number[] = [];
    for (const steps of [100, 400, 2000]) {
      const events = make(steps);
      const m = measure(events, steps);
      const n = events.length;
      expect(n).toBeGreaterThan(steps); // every shape passes every step at least once
      // each event examines at most a few steps in all (amortized), and evaluates a few guards
      expect(m.visits, `${steps} steps, ${n} events: ${m.visits} step visits`).toBeLessThanOrEqual(3 * n);
      expect(m.guards, `${steps} steps, ${n} events: ${m.guards} guard calls`).toBeLessThanOrEqual(2 * n);
      // plan after the fold examines no step at all: it reads the cursor
      expect(m.planVisits).toBe(0);
      perEvent.push((m.visits + m.guards) / n);
    }
    // the work per event does not grow with the run: 20x the steps, about the same per event
    expect(perEvent[2]! / perEvent[0]!).toBeLessThan(1.25);
  });
});

/** The plan the cursors replaced: a scan of every step (the reference the machine must still agree with). */
function scanPlan(steps: readonly StepState[], phase: Phase): Action {
  const inDoubt = (s: StepState) => ['intended', 'failed', 'undo-intended', 'undo-failed'].includes(s.status);
  if (phase === 'forward') {
    const st = steps.find((s) => s.status !== 'applied');
    if (!st) return { type: 'finish' };
    return inDoubt(st) ? { type: 'probe', step: st.name } : st.status === 'partial' ? { type: 'clean', step: st.name } : { type: 'apply', step: st.name };
  }
  if (phase === 'rollback') {
    const st = [...steps].reverse().find((s) => s.status !== 'pending' && s.status !== 'undone');
    if (!st) return { type: 'finish-rollback' };
    if (inDoubt(st)) return { type: 'probe', step: st.name };
    if (st.status === 'partial') return { type: 'clean', step: st.name };
    return kindHasInverse(st.def.kind) ? { type: 'undo', step: st.name } : { type: 'skip-undo', step: st.name, reason: 'read only' };
  }
  return { type: 'none', reason: `run is ${phase}` };
}

/** Every step-choosing event, for every step: the machine must accept exactly the one plan names. */
function candidates(names: string[], bootId: string): EventBody[] {
  return names.flatMap((step): EventBody[] => [
    { type: 'StepIntended', step, args: {}, marker: {}, bootId },
    { type: 'StepProbed', step, found: 'absent' },
    { type: 'StepCleaned', step },
    { type: 'UndoIntended', step, bootId },
    { type: 'UndoSkipped', step, reason: 'x' },
  ]);
}

const ACCEPTS: Record<Action['type'], EventBody['type'] | undefined> = {
  apply: 'StepIntended',
  probe: 'StepProbed',
  clean: 'StepCleaned',
  undo: 'UndoIntended',
  'skip-undo': 'UndoSkipped',
  finish: undefined,
  'finish-rollback': undefined,
  none: undefined,
};

describe('the machine accepts exactly what plan would do next (and plan is the scan it replaced)', () => {
  it.each(SHAPES)('at every event of: %s', (_name, make) => {
    const steps = 12;
    const events = make(steps);
    const defs = defsOf(steps);
    const c = new RunCursor('abcdefgh', events[0] as EventOf<'RunStarted'>, defs);
    let checked = 0;
    for (const e of events.slice(1)) {
      const expected = scanPlan(c.state.steps, c.phase);
      expect(plan(c.state, c.phase)).toMatchObject({ type: expected.type, ...('step' in expected ? { step: expected.step } : {}) });
      for (const body of candidates(defs.map((d) => d.name), c.state.bootId)) {
        const cand = { ...body, seq: e.seq, at: AT } as FlowEvent;
        const wanted = ACCEPTS[expected.type] === cand.type && 'step' in expected && 'step' in cand && expected.step === cand.step;
        let ok = true;
        try {
          c.accept(cand); // checks only: nothing is committed
        } catch (err) {
          if (!(err instanceof JournalMismatch)) throw err;
          ok = false;
        }
        expect(ok, `after event ${e.seq - 1} (phase ${c.phase}): ${cand.type} ${'step' in cand ? cand.step : ''}`).toBe(wanted);
        checked++;
      }
      c.feed(e);
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('a fold of a whole journal equals the fold event by event (accept then commit)', () => {
    const events = SHAPES[3]![1](40);
    const defs = defsOf(40);
    const a = new RunCursor('abcdefgh', events[0] as EventOf<'RunStarted'>, defs);
    for (const e of events.slice(1)) a.accept(e)();
    const b = new RunCursor('abcdefgh', events[0] as EventOf<'RunStarted'>, defs);
    for (const e of events.slice(1)) b.feed(e);
    expect(a.phase).toBe(b.phase);
    expect(a.state.steps.map((s) => [s.status, s.lost])).toEqual(b.state.steps.map((s) => [s.status, s.lost]));
    expect(() => fold('abcdefgh', events)).toThrow(/unknown workflow/); // fold() resolves the steps from RunStarted
  });
});
