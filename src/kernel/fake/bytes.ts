/**
 * Sparse device contents kept as base64 blocks in a JSON-able record (zram data,
 * snapshot exceptions), and little-endian helpers.
 */

/** Block size of a sparse store, bytes. */
export const BLOCK = 4096;

/** `length` bytes at `offset`; unwritten blocks read as zeros. */
export function readSparse(store: Record<string, string>, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let pos = offset; pos < offset + length; ) {
    const index = Math.floor(pos / BLOCK);
    const within = pos - index * BLOCK;
    const n = Math.min(BLOCK - within, offset + length - pos);
    const block = store[index];
    if (block !== undefined) out.set(Buffer.from(block, 'base64').subarray(within, within + n), pos - offset);
    pos += n;
  }
  return out;
}

/** Writes `data` at `offset`. */
export function writeSparse(store: Record<string, string>, offset: number, data: Uint8Array): void {
  for (let pos = offset; pos < offset + data.length; ) {
    const index = Math.floor(pos / BLOCK);
    const within = pos - index * BLOCK;
    const n = Math.min(BLOCK - within, offset + data.length - pos);
    const block = Buffer.alloc(BLOCK);
    const old = store[index];
    if (old !== undefined) Buffer.from(old, 'base64').copy(block);
    block.set(data.subarray(pos - offset, pos - offset + n), within);
    store[index] = block.toString('base64');
    pos += n;
  }
}

/** Bytes held by a sparse store. */
export function sparseBytes(store: Record<string, string>): number {
  return Object.keys(store).length * BLOCK;
}

/** Little-endian unsigned reads/writes on a byte array. */
export const le = {
  u16: (b: Uint8Array, at: number) => (b[at] ?? 0) | ((b[at + 1] ?? 0) << 8),
  u32: (b: Uint8Array, at: number) => ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16)) + (b[at + 3] ?? 0) * 0x1000000,
  put16(b: Uint8Array, at: number, v: number) {
    b[at] = v & 0xff;
    b[at + 1] = (v >>> 8) & 0xff;
  },
  put32(b: Uint8Array, at: number, v: number) {
    for (let i = 0; i < 4; i++) b[at + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
  },
};
