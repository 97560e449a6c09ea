/** Which blocks of a buffer hold data (pure): the copy writes those and leaves holes for the rest. */

/** The byte ranges [start, end) of `buf`'s `block`-byte blocks that are not all zero, adjacent ones merged. */
export function dataRuns(buf: Uint8Array, block: number): [number, number][] {
  const runs: [number, number][] = [];
  for (let at = 0; at < buf.length; at += block) {
    const end = Math.min(at + block, buf.length);
    if (allZero(buf, at, end)) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === at) last[1] = end;
    else runs.push([at, end]);
  }
  return runs;
}

function allZero(buf: Uint8Array, from: number, to: number): boolean {
  // 8 bytes at a time where aligned: the copy scans every byte of the image
  let i = from;
  if ((buf.byteOffset + i) % 8 === 0) {
    const words = new BigUint64Array(buf.buffer, buf.byteOffset + i, Math.floor((to - i) / 8));
    for (const w of words) if (w !== 0n) return false;
    i += words.length * 8;
  }
  for (; i < to; i++) if (buf[i] !== 0) return false;
  return true;
}
