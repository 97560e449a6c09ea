/**
 * Fault injection for the fake kernel: an armed fault makes matching calls fail with a
 * KernelError, either before the effect ("the command failed") or after it ("it
 * worked but we never heard back", e.g. a timeout).
 */
import type { KernelErrorCode } from '../../errors.js';
import { kerr } from './context.js';
import type { FaultState, KernelState } from './state.js';

/** A fault to arm. `op` is "facility.method" (e.g. "dm.create", "loop.detach") or a
 *  sub-step of a compound op: "dm.create.load", "dm.create.resume". */
export interface KernelFault {
  op: string;
  code: KernelErrorCode;
  /** how many matching calls fail (default: every one until clearFaults) */
  times?: number;
  /** let this many matching calls through first (default 0) */
  after?: number;
  /** 'before' (default): fail with no effect; 'after': apply the effect, then fail */
  when?: 'before' | 'after';
  message?: string;
}

/** Adds a fault to the state. */
export function armFault(state: KernelState, fault: KernelFault): void {
  state.faults.push({
    op: fault.op,
    code: fault.code,
    left: fault.times ?? null,
    skip: fault.after ?? 0,
    when: fault.when ?? 'before',
    ...(fault.message === undefined ? {} : { message: fault.message }),
  });
}

/** Consumes the first armed fault for `op` at `when`; returns it (null when none fires). */
export function takeFault(state: KernelState, op: string, when: 'before' | 'after'): FaultState | null {
  for (const f of state.faults) {
    if (f.op !== op || f.when !== when || f.left === 0) continue;
    if (f.skip > 0) {
      f.skip--;
      continue;
    }
    if (f.left !== null) f.left--;
    return f;
  }
  return null;
}

/** The error an armed fault raises. */
export function faultError(f: FaultState): Error {
  return kerr(f.code, f.message ?? `injected fault: ${f.op} failed with ${f.code}`);
}
