/**
 * Node-style errors and fault injection for SimFs.
 */

/** SimFs operations a fault can target (handle operations are `read`/`write`/`truncate`/`sync`). */
export type SimFsOp =
  | 'open'
  | 'read'
  | 'write'
  | 'truncate'
  | 'sync'
  | 'readFile'
  | 'stat'
  | 'lstat'
  | 'readdir'
  | 'mkdir'
  | 'rmdir'
  | 'unlink'
  | 'rename'
  | 'link'
  | 'setMtime'
  | 'chmod'
  | 'syncDir'
  | 'realpath';

/** A fault: the next matching calls fail with `code` and have no effect. */
export interface SimFault {
  op: SimFsOp;
  /** only calls on a path starting with this (for rename: either path) */
  pathPrefix?: string;
  code: 'ENOSPC' | 'EIO' | string;
  /** how many matching calls fail (default: every one until `clearFaults()`) */
  times?: number;
  /** let this many matching calls succeed first (default 0) */
  after?: number;
}

const ERRNO: Record<string, [number, string]> = {
  ENOENT: [-2, 'no such file or directory'],
  EIO: [-5, 'i/o error'],
  EBADF: [-9, 'bad file descriptor'],
  EBUSY: [-16, 'resource busy or locked'],
  EEXIST: [-17, 'file already exists'],
  EXDEV: [-18, 'cross-device link not permitted'],
  ENOTDIR: [-20, 'not a directory'],
  EISDIR: [-21, 'illegal operation on a directory'],
  EINVAL: [-22, 'invalid argument'],
  ENOSPC: [-28, 'no space left on device'],
  ENOTEMPTY: [-39, 'directory not empty'],
  ELOOP: [-40, 'too many symbolic links encountered'],
};

/** A Node-style error: `code`, `errno`, `syscall`, `path`, message like node:fs's. */
export function fsError(code: string, syscall: string, path?: string): NodeJS.ErrnoException {
  const [errno, text] = ERRNO[code] ?? [-1, code.toLowerCase()];
  const err: NodeJS.ErrnoException = new Error(`${code}: ${text}, ${syscall}${path === undefined ? '' : ` '${path}'`}`);
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}

interface ArmedFault {
  spec: SimFault;
  skip: number;
  left: number;
}

/** The armed faults of one SimFs. */
export class FaultTable {
  private faults: ArmedFault[] = [];

  add(spec: SimFault): void {
    this.faults.push({ spec: { ...spec }, skip: spec.after ?? 0, left: spec.times ?? Infinity });
  }

  clear(): void {
    this.faults = [];
  }

  copy(): FaultTable {
    const t = new FaultTable();
    t.faults = this.faults.map((f) => ({ ...f }));
    return t;
  }

  /** Throws the first armed fault matching `op` on any of `paths`. */
  check(op: SimFsOp, syscall: string, ...paths: string[]): void {
    for (const f of this.faults) {
      if (f.spec.op !== op || f.left <= 0) continue;
      const prefix = f.spec.pathPrefix;
      if (prefix !== undefined && !paths.some((p) => p.startsWith(prefix))) continue;
      if (f.skip > 0) {
        f.skip--;
        continue;
      }
      f.left--;
      throw fsError(f.spec.code, syscall, paths[0]);
    }
  }
}
