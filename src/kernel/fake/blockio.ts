/**
 * Reading and writing fake block devices down the stack: loop → backing file (through
 * the Fs), zram → its blocks, dm → per segment (linear/delay/flakey → device below,
 * zero → zeros, error → EIO, snapshot → exceptions in the COW, else the origin;
 * flakey while down: EIO, or its feature; snapshot-origin → the origin, copying a chunk
 * to every snapshot of that origin before its first write).
 * Reads past the end return zeros; writes past the end fail with ENOSPC.
 */
import { readSparse, writeSparse } from './bytes.js';
import { fromFsError, kerr, type Ctx } from './context.js';
import { deviceSize, findDevice, type Dev } from './devices.js';
import type { DmState, DmTarget } from './state.js';

const MAX_DEPTH = 16;

/** `length` bytes of `dev` at byte `offset`. */
export async function readDevice(ctx: Ctx, dev: Dev, offset: number, length: number, depth = 0): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  const end = Math.min(offset + length, deviceSize(dev));
  if (end <= offset) return out;
  if (dev.kind === 'zram') out.set(readSparse(dev.zram.data, offset, end - offset));
  if (dev.kind === 'loop') out.set(await readLoop(ctx, dev, offset, end - offset));
  if (dev.kind === 'dm') {
    await eachSegment(dev.dm, offset, end - offset, async (t, rel, at, n) => {
      out.set(await readSegment(ctx, dev.dm, t, rel, n, depth), at);
    });
  }
  return out;
}

/** Writes `data` to `dev` at byte `offset` (durable when it reaches a file: mkfs fsyncs). */
export async function writeDevice(ctx: Ctx, dev: Dev, offset: number, data: Uint8Array, depth = 0): Promise<void> {
  if (offset + data.length > deviceSize(dev)) throw kerr('ENOSPC', `write beyond the end of ${dev.node}`);
  if (dev.kind === 'zram') {
    writeSparse(dev.zram.data, offset, data);
    ctx.touch();
  } else if (dev.kind === 'loop') {
    await writeLoop(ctx, dev, offset, data);
  } else {
    if (dev.dm.readOnly) throw kerr('EPERM', `${dev.node} is read-only`);
    await eachSegment(dev.dm, offset, data.length, (t, rel, at, n) => writeSegment(ctx, dev.dm, t, rel, data.subarray(at, at + n), depth));
  }
}

type SegmentFn = (t: DmTarget, rel: number, at: number, n: number) => Promise<void>;

/** Calls `fn` for each live segment overlapping [offset, offset+length): offset within the segment, offset within the buffer, bytes. */
async function eachSegment(dm: DmState, offset: number, length: number, fn: SegmentFn): Promise<void> {
  if (!dm.live) throw kerr('ENXIO', `dm device ${dm.name} has no live table`);
  for (const t of dm.live) {
    const start = t.start * 512;
    const stop = start + t.length * 512;
    const from = Math.max(offset, start);
    const to = Math.min(offset + length, stop);
    if (from < to) await fn(t, from - start, from - offset, to - from);
  }
}

function below(ctx: Ctx, ref: string, depth: number): Dev {
  if (depth >= MAX_DEPTH) throw kerr('EIO', 'device stack too deep');
  const dev = findDevice(ctx.state, ref);
  if (!dev) throw kerr('EIO', `device ${ref} below a dm table is gone`);
  return dev;
}

const sectors = (s: string) => Number(s) * 512;

async function readSegment(ctx: Ctx, dm: DmState, t: DmTarget, rel: number, n: number, depth: number): Promise<Uint8Array> {
  const a = t.args;
  switch (t.type) {
    case 'zero':
      return new Uint8Array(n);
    case 'flakey':
      if (flakeyDown(dm, t) && !a.slice(5).includes('drop_writes') && !a.slice(5).includes('error_writes')) throw kerr('EIO', `I/O error: ${dm.name} (flakey) is down`);
      return readDevice(ctx, below(ctx, a[0]!, depth), sectors(a[1]!) + rel, n, depth + 1);
    case 'linear':
    case 'delay':
      return readDevice(ctx, below(ctx, a[0]!, depth), sectors(a[1]!) + rel, n, depth + 1);
    case 'snapshot-origin':
      return readDevice(ctx, below(ctx, a[0]!, depth), t.start * 512 + rel, n, depth + 1);
    case 'snapshot':
      return readSnapshot(ctx, dm, t, rel, n, depth);
    default:
      throw kerr('EIO', `I/O error on ${t.type} target of ${dm.name}`);
  }
}

async function writeSegment(ctx: Ctx, dm: DmState, t: DmTarget, rel: number, data: Uint8Array, depth: number): Promise<void> {
  const a = t.args;
  switch (t.type) {
    case 'zero':
      return;
    case 'flakey':
      if (flakeyDown(dm, t)) {
        if (a.slice(5).includes('drop_writes')) return;
        throw kerr('EIO', `I/O error: ${dm.name} (flakey) is down`);
      }
      return writeDevice(ctx, below(ctx, a[0]!, depth), sectors(a[1]!) + rel, data, depth + 1);
    case 'linear':
      return writeDevice(ctx, below(ctx, a[0]!, depth), sectors(a[1]!) + rel, data, depth + 1);
    case 'snapshot-origin': {
      // origin_map does not remap: the origin's sector is the device's
      const at = t.start * 512 + rel;
      await copyToSnapshots(ctx, a[0]!, at, data.length, depth);
      return writeDevice(ctx, below(ctx, a[0]!, depth), at, data, depth + 1);
    }
    case 'delay': {
      const g = a.length >= 6 ? 3 : 0;
      return writeDevice(ctx, below(ctx, a[g]!, depth), sectors(a[g + 1]!) + rel, data, depth + 1);
    }
    case 'snapshot':
      return writeSnapshot(ctx, dm, t, rel, data, depth);
    default:
      throw kerr('EIO', `I/O error on ${t.type} target of ${dm.name}`);
  }
}

/**
 * dm-flakey: up for `up` seconds from the table's load, then down for `down` seconds, and
 * so on (elapsed % (up + down) >= up: down). up 0 is always down, down 0 always up.
 */
function flakeyDown(dm: DmState, t: DmTarget): boolean {
  const up = Number(t.args[2]);
  const down = Number(t.args[3]);
  if (down === 0) return false;
  if (up === 0) return true;
  const elapsed = Math.floor((Date.now() - (dm.loadedMs ?? 0)) / 1000);
  return elapsed % (up + down) >= up;
}

/** Before a write through snapshot-origin: each live snapshot of `origin` keeps the chunks' old data. */
async function copyToSnapshots(ctx: Ctx, origin: string, offset: number, length: number, depth: number): Promise<void> {
  for (const snap of ctx.state.dm) {
    if (snap.invalid) continue;
    for (const t of snap.live ?? []) {
      if (t.type !== 'snapshot' || t.args[0] !== origin) continue;
      const size = chunkBytes(t);
      const segEnd = t.length * 512;
      for (let index = Math.floor(offset / size); index * size < Math.min(offset + length, segEnd); index++) {
        const key = `${t.start}:${index}`;
        if (snap.cow[key] !== undefined) continue;
        const cow = below(ctx, t.args[1]!, depth);
        const held = Object.keys(snap.cow).filter((k) => k.startsWith(`${t.start}:`)).length;
        const used = held + metadataChunks(t, held + 1);
        if ((used + 1) * size > deviceSize(cow)) {
          snap.invalid = true;
          ctx.touch();
          break;
        }
        snap.cow[key] = Buffer.from(await readDevice(ctx, below(ctx, origin, depth), index * size, size, depth + 1)).toString('base64');
        ctx.touch();
      }
    }
  }
}

/** Chunk geometry of a snapshot segment. */
function chunkBytes(t: DmTarget): number {
  return Number(t.args[3]) * 512;
}

async function readSnapshot(ctx: Ctx, dm: DmState, t: DmTarget, rel: number, n: number, depth: number): Promise<Uint8Array> {
  if (dm.invalid) throw kerr('EIO', `snapshot ${dm.name} is invalid (COW full)`);
  const size = chunkBytes(t);
  const out = new Uint8Array(n);
  for (let pos = rel; pos < rel + n; ) {
    const index = Math.floor(pos / size);
    const within = pos - index * size;
    const len = Math.min(size - within, rel + n - pos);
    const chunk = dm.cow[`${t.start}:${index}`];
    const bytes = chunk !== undefined ? Buffer.from(chunk, 'base64').subarray(within, within + len) : await readDevice(ctx, below(ctx, t.args[0]!, depth), pos, len, depth + 1);
    out.set(bytes, pos - rel);
    pos += len;
  }
  return out;
}

/**
 * Metadata chunks a snapshot store uses: none for a transient one; a persistent one has a
 * header chunk and one metadata area per `chunk bytes / 16` exceptions (dm-snap-persistent.c:
 * a fresh store reports 2 chunks of metadata).
 */
export function metadataChunks(t: DmTarget, exceptions = 0): number {
  if (t.args[2] === 'N') return 0;
  return 2 + Math.floor(exceptions / (chunkBytes(t) / 16));
}

async function writeSnapshot(ctx: Ctx, dm: DmState, t: DmTarget, rel: number, data: Uint8Array, depth: number): Promise<void> {
  if (dm.invalid) throw kerr('EIO', `snapshot ${dm.name} is invalid (COW full)`);
  const size = chunkBytes(t);
  const cow = below(ctx, t.args[1]!, depth);
  for (let pos = rel; pos < rel + data.length; ) {
    const index = Math.floor(pos / size);
    const within = pos - index * size;
    const len = Math.min(size - within, rel + data.length - pos);
    const key = `${t.start}:${index}`;
    let chunk: Buffer;
    if (dm.cow[key] !== undefined) chunk = Buffer.from(dm.cow[key]!, 'base64');
    else {
      const held = Object.keys(dm.cow).filter((k) => k.startsWith(`${t.start}:`)).length;
      const used = held + metadataChunks(t, held + 1);
      if ((used + 1) * size > deviceSize(cow)) {
        dm.invalid = true;
        ctx.touch();
        throw kerr('EIO', `snapshot ${dm.name}: COW device full, snapshot invalidated`);
      }
      chunk = Buffer.from(await readDevice(ctx, below(ctx, t.args[0]!, depth), index * size, size, depth + 1));
    }
    chunk.set(data.subarray(pos - rel, pos - rel + len), within);
    dm.cow[key] = chunk.toString('base64');
    ctx.touch();
    pos += len;
  }
}

async function readLoop(ctx: Ctx, dev: Dev & { kind: 'loop' }, offset: number, length: number): Promise<Uint8Array> {
  const { loop } = dev;
  try {
    const h = await ctx.fs.open(loop.backingFile, { mode: 'read' });
    try {
      await checkIdentity(dev, await h.stat());
      return await h.read(length, loop.offset + offset);
    } finally {
      await h.close();
    }
  } catch (err) {
    throw fromFsError(err, `reading ${dev.node}`);
  }
}

async function writeLoop(ctx: Ctx, dev: Dev & { kind: 'loop' }, offset: number, data: Uint8Array): Promise<void> {
  const { loop } = dev;
  if (loop.readOnly) throw kerr('EPERM', `${dev.node} is read-only (write-protected)`);
  try {
    const h = await ctx.fs.open(loop.backingFile, { mode: 'write' });
    try {
      await checkIdentity(dev, await h.stat());
      await h.write(data, loop.offset + offset);
      await h.sync();
    } finally {
      await h.close();
    }
  } catch (err) {
    throw fromFsError(err, `writing ${dev.node}`);
  }
}

/** The fake reaches the backing file by path: refuse when the name now holds another file. */
async function checkIdentity(dev: Dev & { kind: 'loop' }, st: { dev: string; ino: number }): Promise<void> {
  if (st.dev !== dev.loop.backingDev || st.ino !== dev.loop.backingIno) {
    throw kerr('EIO', `${dev.node}: backing file ${dev.loop.backingFile} was replaced (the fake reaches it by path)`);
  }
}
