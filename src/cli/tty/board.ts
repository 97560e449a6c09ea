/**
 * The live step list of a run, resume or rollback on a terminal: one row per step of the
 * run (pending, running with a spinner and its elapsed time, done with its duration and
 * key output, failed with the reason, undone, skipped, in doubt), and a footer saying what
 * the run is doing when it is not simply going forward. Pure: the rows come from the run's
 * state (folded from the journal) and the times recorded in the events (`at`).
 */
import type { FlowEvent } from '../../../journal/events.js';
import type { Phase, RunState, StepState } from '../../engine/state.js';
import { keyOutput } from '../render.js';
import type { Paint } from './colour.js';
import { duration, elapsed } from './text.js';

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** What this process saw of a step: when it started (event time), how long it took, notes. */
interface Seen {
  /** a StepIntended / UndoIntended of this process, not yet followed by its outcome */
  live: boolean;
  started?: number;
  ms?: number;
  /** the reason the step failed in this invocation (kept while the run rolls back) */
  failed?: string;
  note?: string;
}

export class Board {
  private state: RunState;
  private seen = new Map<string, Seen>();
  private footer: string | undefined;

  constructor(state: RunState) {
    this.state = state;
  }

  /** Takes one durable event and the state after it. */
  apply(e: FlowEvent, s: RunState, phase: Phase): void {
    this.state = s;
    const at = Date.parse(e.at);
    const step = 'step' in e ? e.step : undefined;
    const seen = step ? (this.seen.get(step) ?? { live: false }) : undefined;
    const finish = () => seen && ((seen.live = false), seen.started !== undefined && (seen.ms = at - seen.started));
    switch (e.type) {
      case 'StepIntended':
      case 'UndoIntended':
        Object.assign(seen!, { live: true, started: at, ms: undefined, note: undefined });
        if (e.type === 'StepIntended') seen!.failed = undefined;
        break;
      case 'StepSucceeded':
      case 'UndoSucceeded':
        finish();
        break;
      case 'StepFailed':
      case 'UndoFailed':
        finish();
        if (e.type === 'StepFailed') seen!.failed = e.error.message;
        break;
      case 'StepProbed':
        seen!.note = `checked: ${e.found}${e.detail ? ` (${e.detail})` : ''}`;
        break;
      case 'StepCleaned':
        seen!.note = 'partial effect removed';
        break;
      case 'UndoSkipped':
        seen!.note = `nothing to undo: ${e.reason}`;
        break;
      case 'RollbackStarted':
        this.footer = `rolling back (${e.reason})`;
        break;
      case 'ResumeStarted':
        this.footer = 'resuming';
        break;
      case 'RunInterrupted':
        this.footer = `interrupted by ${e.signal}`;
        break;
      case 'NeedsOperator':
        this.footer = `needs an operator at ${e.step}: ${e.reason}`;
        break;
      default:
        break;
    }
    if (step && seen) this.seen.set(step, seen);
    if (phase === 'done' || phase === 'rolled-back') this.footer = undefined;
  }

  /** A step is running: the spinner and the clock need redrawing. */
  animating(): boolean {
    return [...this.seen.values()].some((x) => x.live);
  }

  /** The list as lines, without newlines; `final` draws no spinner and no footer. */
  lines(now: number, p: Paint, final = false): string[] {
    const width = Math.max(...this.state.steps.map((x) => x.name.length), 8);
    const spin = SPINNER[Math.floor(now / 80) % SPINNER.length]!;
    const rows = this.state.steps.map((st) => {
      const r = this.row(st, this.seen.get(st.name) ?? { live: false }, now, p, final ? '?' : spin);
      return `  ${r.icon} ${r.dim ? p.dim(st.name.padEnd(width)) : st.name.padEnd(width)} ${r.time.padStart(7)}  ${r.text}`;
    });
    if (!final && this.footer) rows.push(p.yellow(this.footer));
    return rows;
  }

  private row(st: StepState, seen: Seen, now: number, p: Paint, spin: string): { icon: string; time: string; text: string; dim?: boolean } {
    const title = st.def.title;
    const took = seen.ms !== undefined ? duration(seen.ms) : '';
    const note = seen.note ? p.dim(`  (${seen.note})`) : '';
    const clock = seen.started !== undefined ? elapsed(now - seen.started) : '';
    const running = spin === '?' ? { icon: p.yellow('?'), time: clock, text: `${title}  ${p.yellow('(did not finish)')}` } : undefined;
    if (seen.failed !== undefined && st.status !== 'applied' && st.status !== 'intended') {
      return { icon: p.red('✗'), time: took, text: p.red(`failed: ${seen.failed}`) + (st.status === 'undone' || st.status === 'pending' ? p.dim('  (nothing left)') : '') };
    }
    switch (st.status) {
      case 'pending':
        return { icon: p.dim('·'), time: '', text: p.dim(title) + (st.lost ? p.dim('  (lost in a reboot)') : note), dim: true };
      case 'intended':
        if (!seen.live) return { icon: p.yellow('?'), time: '', text: `${title}  ${p.yellow('(in doubt: to be checked)')}` };
        return running ?? { icon: p.cyan(spin), time: clock, text: title };
      case 'applied': {
        const out = keyOutput(st);
        return { icon: p.green('✓'), time: took, text: `${title}${out ? `  -> ${out}` : ''}${note}` };
      }
      case 'failed':
        return { icon: p.red('✗'), time: took, text: p.red(`failed: ${st.error?.message ?? 'unknown error'}`) };
      case 'partial':
        return { icon: p.yellow('!'), time: '', text: `${title}  ${p.yellow('(partly applied: to be cleaned)')}` };
      case 'undo-intended':
        if (!seen.live) return { icon: p.yellow('?'), time: '', text: `undo: ${title}  ${p.yellow('(in doubt: to be checked)')}` };
        return running ?? { icon: p.cyan(spin), time: clock, text: `undo: ${title}` };
      case 'undo-failed':
        return { icon: p.red('✗'), time: took, text: p.red(`undo failed: ${st.error?.message ?? 'unknown error'}`) };
      case 'undone':
        if (seen.note?.startsWith('nothing to undo')) return { icon: p.dim('-'), time: '', text: p.dim(`${title}  (${seen.note})`), dim: true };
        return { icon: p.yellow('↺'), time: took, text: `undone: ${title}${note}` };
    }
  }
}
