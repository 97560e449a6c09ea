/**
 * `realFs`: the `Fs` interface over node:fs/promises. Errors are Node's own (with `code`).
 * Created files and directories get `perm` masked by the process umask, as open(2) and
 * mkdir(2) do.
 */
import { constants, promises as fsp } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import type { FileHandle, Fs, FsStat, OpenOptions } from './types.js';

const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = constants;

/** Decodes a Linux st_dev (glibc's gnu_dev_major/gnu_dev_minor) into "major:minor". */
export function decodeDev(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

/** Converts Node's bigint stats into flow's `FsStat`. */
export function toFsStat(st: BigIntStats): FsStat {
  const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return {
    kind,
    size: Number(st.size),
    ino: Number(st.ino),
    dev: decodeDev(st.dev),
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    mtimeMs: Number(st.mtimeMs),
    // libuv reports 0 when statx has no birth time for this filesystem
    ...(st.birthtimeNs > 0n ? { birthNs: String(st.birthtimeNs) } : {}),
  };
}

function openFlags(options: OpenOptions): number {
  const base = options.mode === 'read' ? O_RDONLY : options.mode === 'write' ? O_RDWR : O_RDWR | O_CREAT | O_EXCL;
  return options.noFollow ? base | O_NOFOLLOW : base;
}

class RealHandle implements FileHandle {
  constructor(private readonly fh: fsp.FileHandle) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  async read(length: number, position: number): Promise<Buffer> {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  }

  truncate(length: number): Promise<void> {
    return this.fh.truncate(length);
  }

  sync(): Promise<void> {
    return this.fh.sync();
  }

  datasync(): Promise<void> {
    return this.fh.datasync();
  }

  async stat(): Promise<FsStat> {
    return toFsStat(await this.fh.stat({ bigint: true }));
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** The real filesystem. */
export const realFs: Fs = {
  async open(path, options) {
    const perm = options.mode === 'create-exclusive' ? (options.perm ?? 0o600) : undefined;
    return new RealHandle(await fsp.open(path, openFlags(options), perm));
  },

  async readFile(path, options) {
    if (!options?.noFollow) return fsp.readFile(path);
    const fh = await fsp.open(path, O_RDONLY | O_NOFOLLOW);
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  },

  async stat(path) {
    return toFsStat(await fsp.stat(path, { bigint: true }));
  },

  async lstat(path) {
    return toFsStat(await fsp.lstat(path, { bigint: true }));
  },

  async readdir(path) {
    return (await fsp.readdir(path)).sort();
  },

  mkdir: (path, perm) => fsp.mkdir(path, { mode: perm }).then(() => undefined),
  rmdir: (path) => fsp.rmdir(path),
  unlink: (path) => fsp.unlink(path),
  rename: (from, to) => fsp.rename(from, to),
  chmod: (path, perm) => fsp.chmod(path, perm),
  link: (from, to) => fsp.link(from, to),
  setMtime: (path, mtimeMs) => fsp.lutimes(path, new Date(), new Date(mtimeMs)),

  async syncDir(path) {
    const fh = await fsp.open(path, O_RDONLY | O_DIRECTORY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },

  realpath: (path) => fsp.realpath(path),
  fsSize: async (path) => {
    const st = await fsp.statfs(path);
    return st.blocks * st.bsize;
  },
};
