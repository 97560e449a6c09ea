/**
 * Sparse file contents for SimFs: fixed-size chunks that are never mutated in place (a
 * write replaces a chunk), so copies share chunks and a 1 GiB truncate costs nothing.
 */
import { createHash } from 'node:crypto';

/** Chunk size in bytes. */
export const CHUNK = 4096;

/** Sparse, copy-on-write byte store with a logical size; unwritten ranges read as zeros. */
export class SparseData {
  constructor(
    public size = 0,
    private readonly chunks = new Map<number, Uint8Array>(),
  ) {}

  /** A cheap copy sharing the (immutable) chunks. */
  copy(): SparseData {
    return new SparseData(this.size, new Map(this.chunks));
  }

  /** Up to `length` bytes at `position`; fewer at the end of the data. */
  read(length: number, position: number): Buffer {
    const end = Math.min(this.size, position + length);
    const out = Buffer.alloc(Math.max(0, end - position));
    for (let pos = position; pos < end; ) {
      const index = Math.floor(pos / CHUNK);
      const within = pos - index * CHUNK;
      const n = Math.min(CHUNK - within, end - pos);
      const chunk = this.chunks.get(index);
      if (chunk) out.set(chunk.subarray(within, within + n), pos - position);
      pos += n;
    }
    return out;
  }

  /** Writes all of `data` at `position`, growing the size when needed. */
  write(data: Uint8Array, position: number): void {
    const end = position + data.length;
    for (let pos = position; pos < end; ) {
      const index = Math.floor(pos / CHUNK);
      const within = pos - index * CHUNK;
      const n = Math.min(CHUNK - within, end - pos);
      const chunk = new Uint8Array(CHUNK);
      const old = this.chunks.get(index);
      if (old) chunk.set(old);
      chunk.set(data.subarray(pos - position, pos - position + n), within);
      this.chunks.set(index, chunk);
      pos += n;
    }
    this.size = Math.max(this.size, end);
  }

  /** Sets the size; bytes beyond a shrunk size are dropped (they read as zeros if it grows again). */
  truncate(length: number): void {
    for (const index of [...this.chunks.keys()]) {
      const start = index * CHUNK;
      if (start >= length) this.chunks.delete(index);
      else if (start + CHUNK > length) {
        const chunk = new Uint8Array(CHUNK);
        chunk.set(this.chunks.get(index)!.subarray(0, length - start));
        this.chunks.set(index, chunk);
      }
    }
    this.size = length;
  }

  /** A short content hash (size + non-zero chunks); equal contents give equal digests. */
  digest(): string {
    const hash = createHash('sha256').update(`size:${this.size}`);
    for (const index of [...this.chunks.keys()].sort((a, b) => a - b)) {
      const chunk = this.chunks.get(index)!;
      if (chunk.every((b) => b === 0)) continue;
      hash.update(`@${index}:`).update(chunk);
    }
    return hash.digest('hex').slice(0, 16);
  }
}
