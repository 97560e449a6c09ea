/**
 * What the runner does for one planned action, each following the step protocol:
 * apply (intent durable → effect → outcome durable), probe (record what the kernel
 * holds), clean (a partial effect to absent), undo (intent → inverse → outcome), and
 * the stop for an operator when none of these can settle a step.
 */
import { CrashSignal } from '../../journal/durability.js';
import type { EventBody } from '../../journal/events.js';
import type { Release } from '../../journal/lock.js';
import type { Json } from '../../machines/types.js';
import { FlowError, KernelError, NeedsOperatorError } from '../errors.js';
import { executors } from '../steps/index.js';
import { KIND_SPECS } from '../steps/kinds/index.js';
import { checkArgs, checkOutputs } from '../steps/kinds/schema.js';
import type { StepEnv } from '../steps/types.js';
import type { RunnerDeps } from './runner.js';
import type { Session } from './session.js';

export class StepActions {
  constructor(private readonly d: RunnerDeps) {}

  private crash(point: string): void {
    this.d.crash?.(point);
  }

  private env(prefix: string): StepEnv {
    let fired = false;
    const midpoint = () => {
      if (fired) return;
      fired = true;
      this.crash(`${prefix}:command-running`);
    };
    return { kernel: this.d.kernel, midpoint };
  }

  /** Applies one step; returns the error when the step failed (no effect remains). */
  async apply(s: Session, name: string): Promise<{ code: string; message: string } | undefined> {
    const st = s.step(name);
    const ex = executors[st.def.kind];
    const pre = `apply:${name}`;
    const args = st.def.args(s.outputs());
    const spec = KIND_SPECS[st.def.kind];
    checkArgs(spec.schemas(), s.id, name, args);
    this.crash(`${pre}:before-intent`);
    const release: Release = ex.allocates ? await this.d.locks.acquire('alloc', { wait: true, timeoutMs: 120_000, what: 'the allocation lock' }) : async () => undefined;
    try {
      const env = this.env(pre);
      const marker = ex.observe ? await ex.observe(args, env) : {};
      await s.append({ type: 'StepIntended', step: name, args, marker, bootId: s.state.bootId }, `${pre}:intent`);
      let outputs: Json | undefined;
      let error: { code: string; message: string } | undefined;
      const midpoint = spec.midpoint;
      this.d.setKernelMidpoint?.(midpoint === 'kernel' ? env.midpoint : undefined);
      try {
        if (midpoint === 'before') env.midpoint();
        outputs = await ex.apply(args, marker, env);
      } catch (err) {
        if (err instanceof CrashSignal) throw err;
        error = errorInfo(err);
      } finally {
        this.d.setKernelMidpoint?.(undefined);
      }
      this.crash(`${pre}:command-done`);
      if (error) {
        await s.append({ type: 'StepFailed', step: name, error }, `${pre}:outcome`);
        return error;
      }
      // outputs that do not fit: the step stays in doubt (intent without outcome), and resume probes it
      checkOutputs(spec.schemas(), s.id, name, outputs ?? {});
      await s.append({ type: 'StepSucceeded', step: name, outputs: outputs ?? {} }, `${pre}:outcome`);
      return undefined;
    } finally {
      await release();
    }
  }

  async probe(s: Session, name: string): Promise<void> {
    const st = s.step(name);
    const ex = executors[st.def.kind];
    const args = st.args ?? st.def.args(s.outputs());
    let res;
    try {
      res = await ex.probe(args, st.marker ?? {}, st.outputs, this.env(`probe:${name}`));
    } catch (err) {
      if (err instanceof CrashSignal) throw err;
      return this.needsOperator(s, name, `cannot probe: ${errorInfo(err).message}`);
    }
    if (res.found === 'unknown') return this.needsOperator(s, name, res.detail, res.commands);
    const body: EventBody = { type: 'StepProbed', step: name, found: res.found };
    if (res.found === 'applied') body.outputs = res.outputs;
    if (res.found !== 'applied' && res.detail) body.detail = res.detail;
    await s.append(body, `probe:${name}:outcome`);
  }

  async clean(s: Session, name: string): Promise<void> {
    const st = s.step(name);
    try {
      await executors[st.def.kind].clean(st.args ?? {}, st.marker ?? {}, this.env(`clean:${name}`), st.outputs);
    } catch (err) {
      if (err instanceof CrashSignal) throw err;
      return this.needsOperator(s, name, `cannot clean up a partial effect: ${errorInfo(err).message}`);
    }
    this.crash(`clean:${name}:command-done`);
    await s.append({ type: 'StepCleaned', step: name }, `clean:${name}:outcome`);
  }

  async undo(s: Session, name: string): Promise<void> {
    const st = s.step(name);
    const ex = executors[st.def.kind];
    const pre = `undo:${name}`;
    this.crash(`${pre}:before-intent`);
    await s.append({ type: 'UndoIntended', step: name, bootId: s.state.bootId }, `${pre}:intent`);
    const env = this.env(pre);
    let error: { code: string; message: string } | undefined;
    try {
      env.midpoint();
      await ex.undo(st.args ?? {}, st.outputs ?? {}, env);
    } catch (err) {
      if (err instanceof CrashSignal) throw err;
      error = errorInfo(err);
    }
    this.crash(`${pre}:command-done`);
    if (!error) {
      await s.append({ type: 'UndoSucceeded', step: name }, `${pre}:outcome`);
      return;
    }
    await s.append({ type: 'UndoFailed', step: name, error }, `${pre}:outcome`);
    return this.needsOperator(s, name, `cannot undo ${name}: ${error.message}`);
  }

  /** Records that a person must act, with the exact commands that remain, and stops. */
  private async needsOperator(s: Session, name: string, reason: string, stepCommands?: string[]): Promise<never> {
    const commands = remainingCommands(s, stepCommands ? { step: name, commands: stepCommands } : undefined);
    await s.append({ type: 'NeedsOperator', step: name, reason, commands });
    throw new NeedsOperatorError(s.id, name, reason, commands);
  }
}

/**
 * The undo commands of every step that may still have an effect, last step first;
 * `known`: the probe's exact commands for the step it could not settle (e.g. one per loop
 * or zram device that may be the run's), used instead of that step's generic ones.
 */
export function remainingCommands(s: Session, known?: { step: string; commands: string[] }): string[] {
  const out: string[] = [];
  for (const st of [...s.state.steps].reverse()) {
    if (st.status === 'pending' || st.status === 'undone' || !st.args) continue;
    if (known && st.name === known.step) {
      out.push(...known.commands);
      continue;
    }
    out.push(...executors[st.def.kind].commands(st.args, st.outputs).undo.map((c) => (st.status === 'applied' ? c : `${c}   # if ${st.name} took effect`)));
  }
  return out;
}

function errorInfo(err: unknown): { code: string; message: string } {
  if (err instanceof KernelError) return { code: err.code, message: err.message };
  if (err instanceof FlowError) return { code: err.name, message: err.message };
  const code = (err as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'EFAIL', message: (err as Error).message ?? String(err) };
}

