/**
 * What every facility of the fake kernel works with: the state, the Fs, and hooks to
 * mark a change and to offer a crash point.
 */
import { KernelError, type KernelErrorCode } from '../../errors.js';
import type { Fs } from '../../fs/types.js';
import type { KernelState } from './state.js';

/** Where a crash test may stop a command: called before an atomic op's effect and
 *  between the steps of a compound one (`stage` says which, e.g. "created", "loaded"). */
export type PointHook = (point: 'command-running', info: { op: string; stage: string }) => void | Promise<void>;

/** The fake kernel as its facilities see it during one operation. */
export interface Ctx {
  readonly state: KernelState;
  readonly fs: Fs;
  /** the operation running, e.g. "dm.create" */
  readonly op: string;
  /** records that kernel state changed (counted in `mutations`, persisted) */
  touch(): void;
  /** a crash point inside a compound operation: persists the state so far, calls onPoint */
  point(stage: string): Promise<void>;
  /** throws the armed fault for a sub-operation (e.g. "dm.create.load"), if any */
  fault(subOp: string): void;
}

/** A KernelError as the fake reports it. */
export function kerr(code: KernelErrorCode, message: string): KernelError {
  return new KernelError(code, message);
}

/** Maps an Fs error (Node-style code) to a KernelError. */
export function fromFsError(err: unknown, what: string): KernelError {
  if (err instanceof KernelError) return err;
  const code = (err as { code?: string } | null)?.code;
  const mapped: KernelErrorCode =
    code === 'ENOENT' || code === 'ENOSPC' || code === 'EIO' || code === 'EPERM' || code === 'EINVAL' || code === 'EBUSY'
      ? code
      : code === 'EACCES' || code === 'EROFS'
        ? 'EPERM'
        : code === 'EISDIR' || code === 'ENOTDIR' || code === 'ELOOP'
          ? 'EINVAL'
          : 'EFAIL';
  return kerr(mapped, `${what}: ${err instanceof Error ? err.message : String(err)}`);
}
