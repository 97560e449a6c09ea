/**
 * The runner: the imperative shell around plan(). One loop, one step at a time:
 *   plan → write intent (durable) → run the effect → write outcome (durable) → fold.
 * Crash points are named `<phase>:<step>:<point>` (see crash-points.ts).
 */
import { JOURNAL_FORMAT, type EventBody, type EventOf } from '../../journal/events.js';
import type { JournalStore } from '../../journal/store.js';
import { CrashSignal, type CrashHook } from '../../journal/durability.js';
import { FRESH_RUN_LOCK, type LockOptions, type Locks } from '../../journal/lock.js';
import type { Json, WorkflowDef } from '../../machines/types.js';
import { InterruptedError, JournalWriteError, RunNotFoundError, StepFailedError, UsageError } from '../errors.js';
import type { Kernel } from '../kernel/types.js';
import { fits } from './guards.js';
import { plan } from './plan.js';
import { StepActions } from './step-actions.js';
import { Session, type EventObserver } from './session.js';
import type { Phase, RunState } from './state.js';

export interface RunnerDeps {
  kernel: Kernel;
  store: JournalStore;
  locks: Locks;
  flowVersion: string;
  crash?: CrashHook;
  /** lets the kernel signal "command running" (fake: inside dm create; real: after spawn) */
  setKernelMidpoint?: (fn: (() => void) | undefined) => void;
  /** the signal that asked flow to stop, once one arrived */
  interrupted?: () => string | undefined;
  observe?: EventObserver;
}

export interface RunOutcome {
  id: string;
  phase: Phase;
  state: RunState;
}

export interface StartRequest {
  id: string;
  workflow: WorkflowDef<any>;
  params: Json;
  keepOnFailure: boolean;
  key?: string;
  /** the workflow file's definition, recorded in RunStarted (src/workflow/run-def.ts) */
  definition?: EventOf<'RunStarted'>['definition'];
}

export class Runner {
  private readonly actions: StepActions;
  /** the session each locked run has open (closed with the lock: checkpoint, the log's descriptor) */
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly d: RunnerDeps) {
    this.actions = new StepActions(d);
  }

  async start(req: StartRequest): Promise<RunOutcome> {
    return this.locked(req.id, async () => {
      const defs = req.workflow.steps(req.workflow.parseParams(req.params), req.id);
      const first: EventBody = {
        type: 'RunStarted',
        format: JOURNAL_FORMAT,
        flowVersion: this.d.flowVersion,
        workflow: req.workflow.name,
        workflowVersion: req.workflow.version,
        params: req.params,
        steps: defs.map((s) => s.name),
        bootId: await this.d.kernel.system.bootId(),
        keepOnFailure: req.keepOnFailure,
        ...(req.key ? { key: req.key } : {}),
        ...(req.definition ? { definition: req.definition } : {}),
      };
      await this.d.locks.check?.('alloc'); // a lock file that cannot be used: refused before the run is recorded
      const journal = await this.d.store.create(req.id, first, 'start').catch((err: unknown) => {
        if (!(err instanceof JournalWriteError)) throw err;
        throw new JournalWriteError(err.path, err.code, err.detail, `the run was not recorded, so nothing was done; free space on (or repair) the filesystem of the state directory ${this.d.store.dirs.root}, then start it again`);
      });
      const s = Session.open(journal, this.d.observe);
      this.sessions.set(req.id, s);
      this.d.observe?.(journal.events[0]!, s.state, s.phase);
      return this.drive(s);
    }, FRESH_RUN_LOCK(req.id));
  }

  async resume(id: string): Promise<RunOutcome> {
    await this.known(id);
    return this.locked(id, async () => {
      const s = await this.open(id);
      // done, unless a reboot took its devices: then they are re-applied
      if (s.phase === 'done' && s.state.steps.every((x) => x.status === 'applied')) return this.outcome(s);
      if (s.phase === 'rolled-back') throw new UsageError(`run ${id} was rolled back; it cannot be resumed`, 'start a new run with `flow run`');
      if (s.phase === 'rollback' || s.state.stoppedFrom === 'rollback') {
        throw new UsageError(`run ${id} is being rolled back; it cannot be resumed`, `finish the rollback with \`flow rollback ${id}\``);
      }
      await this.d.locks.check?.('alloc');
      await s.append({ type: 'ResumeStarted' });
      return this.drive(s);
    });
  }

  async rollback(id: string, reason: 'requested' | 'recover' = 'requested'): Promise<RunOutcome> {
    await this.known(id);
    return this.locked(id, async () => {
      const s = await this.open(id);
      if (s.phase === 'rolled-back') return this.outcome(s);
      await s.append({ type: 'RollbackStarted', reason });
      return this.drive(s);
    });
  }

  /**
   * The operator's way out when flow could not settle a step (exit 3): records, as an
   * event attributed to `by`, that the step's effect is there or gone. resume/rollback go on from there.
   */
  async resolve(id: string, step: string, as: 'applied' | 'absent', by: string): Promise<RunOutcome> {
    await this.known(id);
    return this.locked(id, async () => {
      const s = await this.open(id);
      if (s.phase !== 'needs-operator') throw new UsageError(`run ${id} is ${s.phase}, not waiting for an operator`, `see \`flow show ${id}\``);
      const st = s.state.steps.find((x) => x.name === step);
      if (!st) throw new UsageError(`run ${id} has no step ${JSON.stringify(step)}`, `its steps: ${s.state.steps.map((x) => x.name).join(', ')}`);
      const body = { type: 'OperatorResolved', step, as, by } as const;
      if (!fits(s.state, s.phase, { ...body, seq: 0, at: '' })) {
        const why = as === 'applied' && !st.outputs ? 'flow does not know its outputs; undo it by hand and resolve it --as absent' : `it is ${st.status}, not in doubt`;
        throw new UsageError(`step ${step} of run ${id} cannot be resolved --as ${as}: ${why}`, `steps in doubt: ${s.state.steps.filter((x) => !['pending', 'applied', 'undone'].includes(x.status)).map((x) => x.name).join(', ') || 'none'}`);
      }
      await s.append(body);
      return this.outcome(s);
    });
  }

  /** Refuses a malformed id (one like "x/../../y" would name a lock file outside the state directory) or an unknown one before any lock file is made for it. */
  private async known(id: string): Promise<void> {
    if (!(await this.d.store.exists(id))) throw new RunNotFoundError(`no run ${id} in ${this.d.store.dirs.runs}`, 'list runs with `flow list`');
  }

  private async locked<T>(id: string, fn: () => Promise<T>, opts: LockOptions = { wait: false, what: `run ${id}` }): Promise<T> {
    const release = await this.d.locks.acquire(`run-${id}`, opts);
    let crashed = false;
    try {
      return await fn();
    } catch (err) {
      crashed = err instanceof CrashSignal; // a test's simulated crash: nothing more is written, as in a process that died
      throw err;
    } finally {
      const s = this.sessions.get(id);
      this.sessions.delete(id);
      await s?.close(!crashed);
      await release();
    }
  }

  private async open(id: string): Promise<Session> {
    await this.d.store.cleanTemps(id);
    const s = Session.open(await this.d.store.load(id), this.d.observe);
    this.sessions.set(id, s);
    const boot = await this.d.kernel.system.bootId();
    if (boot !== s.state.bootId && s.phase !== 'rolled-back') await s.append({ type: 'BootChanged', from: s.state.bootId, to: boot });
    return s;
  }

  private outcome(s: Session): RunOutcome {
    return { id: s.id, phase: s.phase, state: s.state };
  }

  /** The loop: asks plan() what is next and does it, until the run ends or stops. */
  private async drive(s: Session): Promise<RunOutcome> {
    for (;;) {
      const signal = this.d.interrupted?.();
      if (signal) {
        await s.append({ type: 'RunInterrupted', signal });
        throw new InterruptedError(s.id, signal);
      }
      const a = plan(s.state, s.phase);
      switch (a.type) {
        case 'apply': {
          const failed = await this.actions.apply(s, a.step);
          if (failed) return await this.afterFailure(s, a.step, failed);
          break;
        }
        case 'probe':
          await this.actions.probe(s, a.step);
          break;
        case 'clean':
          await this.actions.clean(s, a.step);
          break;
        case 'undo':
          await this.actions.undo(s, a.step);
          break;
        case 'skip-undo':
          await s.append({ type: 'UndoSkipped', step: a.step, reason: a.reason }, `skip:${a.step}:outcome`);
          break;
        case 'finish':
          await s.append({ type: 'RunFinished' }, 'finish:outcome');
          return this.outcome(s);
        case 'finish-rollback':
          await s.append({ type: 'RollbackFinished' }, 'finish-rollback:outcome');
          return this.outcome(s);
        case 'none':
          return this.outcome(s);
      }
    }
  }

  private async afterFailure(s: Session, step: string, error: { code: string; message: string }): Promise<RunOutcome> {
    if (s.state.keepOnFailure) throw new StepFailedError(s.id, step, error.message, false);
    await s.append({ type: 'RollbackStarted', reason: 'step-failed' });
    await this.drive(s);
    throw new StepFailedError(s.id, step, error.message, true);
  }
}
