/**
 * Fake device-mapper: create is three steps (create the name → load the table → resume)
 * with a crash point between them, so a crash leaves "---w" or "-I-w" exactly like the
 * kernel; a failed load or resume removes the device again, as libdevmapper does.
 */
import type { DmCreateArgs, DmInfo } from '../types.js';
import { metadataChunks, readDevice, writeDevice } from './blockio.js';
import { kerr, type Ctx } from './context.js';
import { collectAutoclear, deviceSize, findDevice, lowestFree, nextDiskseq, openCount } from './devices.js';
import { formatTable, parseTable } from './dm-table.js';
import { DM_MAJOR, type DmState, type DmTarget, type KernelState } from './state.js';

const NAME_RE = /^[0-9A-Za-z#+\-.:=@_]+$/;

/** `dmsetup info -c` for one device. */
export function dmInfo(state: KernelState, d: DmState): DmInfo {
  const live = d.live !== null;
  const inactive = d.inactive !== null;
  const attr = `${live ? 'L' : '-'}${inactive ? 'I' : '-'}${d.suspended ? 's' : '-'}${d.readOnly ? 'r' : 'w'}`;
  return { name: d.name, uuid: d.uuid, attr, live, inactive, suspended: d.suspended, readOnly: d.readOnly, open: openCount(state, `${DM_MAJOR}:${d.minor}`), major: DM_MAJOR, minor: d.minor };
}

/** Every dm device, by name. */
export function dmList(ctx: Ctx): DmInfo[] {
  return [...ctx.state.dm].sort((a, b) => (a.name < b.name ? -1 : 1)).map((d) => dmInfo(ctx.state, d));
}

function byName(ctx: Ctx, name: string): DmState {
  const d = ctx.state.dm.find((x) => x.name === name);
  if (!d) throw kerr('ENXIO', `dm device ${name} not found (No such device or address)`);
  return d;
}

/** `dmsetup create -v --concise NAME,UUID,,,TABLE`. */
export async function dmCreate(ctx: Ctx, args: DmCreateArgs): Promise<DmInfo> {
  const { state } = ctx;
  if (Buffer.byteLength(args.name) > 127 || !NAME_RE.test(args.name)) throw kerr('EINVAL', `invalid dm name "${args.name}" (at most 127 bytes of [0-9A-Za-z#+-.:=@_])`);
  if (Buffer.byteLength(args.uuid) > 128 || (args.uuid !== '' && !NAME_RE.test(args.uuid))) throw kerr('EINVAL', `invalid dm uuid "${args.uuid}" (at most 128 bytes of [0-9A-Za-z#+-.:=@_])`);
  if (state.dm.some((d) => d.name === args.name)) throw kerr('EEXIST', `dm device name ${args.name} is already in use (File exists)`);
  if (args.uuid !== '' && state.dm.some((d) => d.uuid === args.uuid)) throw kerr('EEXIST', `dm uuid ${args.uuid} is already in use (File exists)`);
  const dev: DmState = { name: args.name, uuid: args.uuid, minor: lowestFree(state.dm.map((d) => d.minor)), live: null, inactive: null, suspended: false, readOnly: false, cow: {}, invalid: false, diskseq: nextDiskseq(state) };
  state.dm.push(dev);
  ctx.touch();
  await ctx.point('created');
  // libdevmapper removes the device again when its load or resume fails
  const revert = (err: unknown): never => {
    state.dm = state.dm.filter((d) => d !== dev);
    collectAutoclear(state);
    ctx.touch();
    throw err;
  };
  try {
    ctx.fault('dm.create.load');
    const table = parseTable(state, args.table);
    await persistentHeaders(ctx, table);
    dev.inactive = table;
  } catch (err) {
    revert(err);
  }
  ctx.touch();
  await ctx.point('loaded');
  try {
    ctx.fault('dm.create.resume');
  } catch (err) {
    revert(err);
  }
  dev.live = dev.inactive;
  dev.inactive = null;
  dev.loadedMs = Date.now();
  ctx.touch();
  return dmInfo(state, dev);
}

/** "SnAp", the magic of a persistent snapshot store (SNAP_MAGIC 0x70416e53, little-endian). */
const SNAP_MAGIC = Buffer.from('SnAp', 'latin1');

/**
 * A persistent snapshot's COW (P/PO): an all-zero magic is a new store, whose header the
 * kernel writes at load (magic, valid 1, version 1, chunk size); any other magic than
 * "SnAp" is refused: "Invalid or corrupt snapshot" → "Failed to read snapshot metadata"
 * (ENXIO). The fake keeps a store's exceptions with the dm device, not in the COW.
 */
async function persistentHeaders(ctx: Ctx, table: DmTarget[]): Promise<void> {
  for (const t of table) {
    if (t.type !== 'snapshot' || t.args[2] === 'N') continue;
    const cow = findDevice(ctx.state, t.args[1]!);
    if (!cow) continue;
    const magic = Buffer.from(await readDevice(ctx, cow, 0, 4));
    if (magic.equals(SNAP_MAGIC)) continue;
    if (magic.readUInt32LE(0) !== 0) throw kerr('ENXIO', `snapshot: Failed to read snapshot metadata: ${cow.node} is no snapshot store (Invalid or corrupt snapshot)`);
    const header = Buffer.alloc(16);
    SNAP_MAGIC.copy(header, 0);
    header.writeUInt32LE(1, 4);
    header.writeUInt32LE(1, 8);
    header.writeUInt32LE(Number(t.args[3]), 12);
    await writeDevice(ctx, cow, 0, header);
  }
}

/** `dmsetup info NAME`; null when absent. */
export function dmInfoByName(ctx: Ctx, name: string): DmInfo | null {
  const d = ctx.state.dm.find((x) => x.name === name);
  return d ? dmInfo(ctx.state, d) : null;
}

/** `dmsetup table NAME`. */
export function dmTable(ctx: Ctx, name: string): string[] {
  return formatTable(byName(ctx, name).live ?? []);
}

/** `dmsetup status NAME`. */
export function dmStatus(ctx: Ctx, name: string): string[] {
  const d = byName(ctx, name);
  return (d.live ?? []).map((t) => {
    const head = `${t.start} ${t.length} ${t.type}`;
    if (t.type === 'snapshot') {
      if (d.invalid) return `${head} Invalid`;
      const chunk = Number(t.args[3]);
      const cow = findDevice(ctx.state, t.args[1]!);
      const total = cow ? deviceSize(cow) / 512 : 0;
      const count = Object.keys(d.cow).filter((k) => k.startsWith(`${t.start}:`)).length;
      const meta = metadataChunks(t, count) * chunk;
      return `${head} ${count * chunk + meta}/${total} ${meta}`;
    }
    if (t.type === 'delay') return `${head} 0 0${t.args.length === 9 ? ' 0' : ''}`;
    return head;
  });
}

/** `dmsetup resume NAME`: a loaded inactive table becomes live; clears suspended. */
export function dmResume(ctx: Ctx, name: string): void {
  const d = byName(ctx, name);
  if (d.inactive === null && !d.suspended) return;
  if (d.inactive !== null) {
    d.live = d.inactive;
    d.inactive = null;
  }
  d.suspended = false;
  collectAutoclear(ctx.state);
  ctx.touch();
}

/** `dmsetup remove` of the device with this UUID: EBUSY while open, ENXIO when absent. */
export function dmRemove(ctx: Ctx, uuid: string): void {
  const d = uuid === '' ? undefined : ctx.state.dm.find((x) => x.uuid === uuid);
  if (!d) throw kerr('ENXIO', `no dm device with uuid ${uuid} (No such device or address)`);
  const open = openCount(ctx.state, `${DM_MAJOR}:${d.minor}`);
  if (open > 0) throw kerr('EBUSY', `dm device ${d.name} is busy: open count ${open} (Device or resource busy)`);
  ctx.state.dm = ctx.state.dm.filter((x) => x !== d);
  collectAutoclear(ctx.state);
  ctx.touch();
}
