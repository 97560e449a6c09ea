/** A test MBR: a disk identifier and primary entries (a Buffer, as flow reads it: its slice() is a view). */
export function mbr(id: number, parts: { type: number; start: number; size: number }[]): Buffer {
  const b = Buffer.alloc(512);
  b.writeUInt32LE(id, 440);
  parts.forEach((p, i) => {
    const at = 446 + 16 * i;
    b[at + 4] = p.type;
    b.writeUInt32LE(p.start, at + 8);
    b.writeUInt32LE(p.size, at + 12);
  });
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}
