/** Builders of `flow show`'s tree nodes: each reads the kernel (never writes) and the run's journal state. */
import { dmUuid } from '../../../machines/types.js';
import type { RunState, StepState } from '../../engine/state.js';
import { parseSnapshotStatus } from '../../kernel/parse/snapshot-status.js';
import type { Kernel } from '../../kernel/types.js';
import { inputFileLive, stepLive } from './live.js';
import { WARN_PERCENT, type CowUsage, type Live, type Role, type Segment, type TreeNode } from './model.js';

export interface ShowCtx {
  kernel: Kernel;
  run: RunState;
  /** major:minor → device path, from the run's step outputs */
  devices: Map<string, string>;
}

const quiet = async <T>(p: Promise<T>): Promise<T | undefined> => p.catch(() => undefined);

/** The devices a table names, as the run's journal recorded them (a number may since belong to another device). */
export async function showCtx(kernel: Kernel, run: RunState): Promise<ShowCtx> {
  const devices = new Map<string, string>();
  for (const st of run.steps) {
    const o = st.outputs;
    if (typeof o?.majmin === 'string' && typeof o.device === 'string') devices.set(o.majmin, o.device);
  }
  return { kernel, run, devices };
}

const step = (c: ShowCtx, name: string): StepState | undefined => c.run.steps.find((s) => s.name === name);
const out = (st: StepState | undefined, key: string): unknown => (st?.status === 'applied' || st?.status === 'undo-failed' ? st.outputs?.[key] : undefined);

function node(role: Role, name: string, live: Live, stepName?: string): TreeNode {
  return { role, name, ...(stepName ? { step: stepName } : {}), ...live, children: [] };
}

/** An input file (never written by the run), checked against the identity it was planned on. */
export async function inputFileNode(c: ShowCtx, role: Role, path: string, identity: { dev: string; ino: number } | null): Promise<TreeNode> {
  return node(role, path, await inputFileLive(c.kernel, path, identity));
}

/** A file the run creates (file.create). */
export async function createdFileNode(c: ShowCtx, path: string, stepName: string): Promise<TreeNode> {
  return node('file', path, await stepLive(c.kernel, step(c, stepName)), stepName);
}

export async function loopNode(c: ShowCtx, stepName: string): Promise<TreeNode> {
  const st = step(c, stepName);
  const live = await stepLive(c.kernel, st);
  const device = out(st, 'device');
  if (live.state === 'missing' && typeof device === 'string') {
    const l = (await quiet(c.kernel.loop.list()))?.find((x) => x.device === device);
    if (l) Object.assign(live, { state: 'drifted', detail: `${device} is bound to ${l.backingFile} (inode ${l.backingDev}/${l.backingIno}), not to the run's file` });
  }
  const n = node('loop', typeof device === 'string' ? device : 'loop device', live, stepName);
  if (typeof st?.args?.readOnly === 'boolean') n.readOnly = st.args.readOnly;
  return n;
}

function segmentOf(c: ShowCtx, line: string): Segment {
  const [start = '0', length = '0', target = '?', ...args] = line.trim().split(/\s+/);
  const s: Segment = { start: Number(start), length: Number(length), target, args };
  if ((target === 'linear' || target === 'delay') && args[0]) {
    s.device = c.devices.get(args[0]) ?? args[0];
    s.offset = Number(args[1]);
  }
  if (target === 'snapshot' && args[0]) {
    s.device = c.devices.get(args[0]) ?? args[0];
    // its COW by name: a loop over a file is drawn in the file's own stack, not inside the snapshot
    if (args[1]) s.cow = c.devices.get(args[1]) ?? args[1];
  }
  return s;
}

/** A dm device of the run (found by its UUID): live state, and its table (live, else the journal's). */
export async function dmNode(c: ShowCtx, role: Role, stepName: string, name: string): Promise<TreeNode> {
  const st = step(c, stepName);
  const n = node(role, `/dev/mapper/${name}`, await stepLive(c.kernel, st), stepName);
  const all = (await quiet(c.kernel.dm.list())) ?? [];
  const d = all.find((x) => x.uuid === dmUuid(c.run.id, stepName));
  const other = all.find((x) => x.name === name && x !== d);
  if (n.state === 'missing') n.detail = other ? `the name ${name} is held by another device (UUID ${other.uuid || 'none'}), not the run's` : `no device with the run's UUID ${dmUuid(c.run.id, stepName)}`;
  const table = d?.live ? await quiet(c.kernel.dm.table(d.name)) : undefined;
  const lines = table ?? (Array.isArray(st?.args?.table) ? (st.args.table as string[]) : undefined);
  if (lines) Object.assign(n, { segments: lines.map((l) => segmentOf(c, l)), tableFrom: table ? 'kernel' : 'journal' });
  if (role === 'snapshot' && d?.live) n.usage = await cowUsage(c, d.name);
  const delay = n.segments?.find((s) => s.target === 'delay');
  if (delay) n.delays = { readMs: Number(delay.args[2]), writeMs: Number(delay.args[5] ?? delay.args[2]) };
  return n;
}

async function cowUsage(c: ShowCtx, name: string): Promise<CowUsage | undefined> {
  const line = (await quiet(c.kernel.dm.status(name)))?.find((l) => / snapshot( |$)/.test(l));
  if (!line) return undefined;
  const s = parseSnapshotStatus(line);
  const rollback = `roll the run back: flow rollback ${c.run.id}`;
  if (s.state === 'invalid' || s.state === 'overflow') {
    return { status: s.state, warning: `INVALID: the COW overflowed; the snapshot is dead and what was written to it is lost; ${rollback}` };
  }
  if (s.state !== 'active') return { status: s.state };
  const percent = s.totalSectors > 0 ? Math.round((s.allocatedSectors / s.totalSectors) * 1000) / 10 : 0;
  const u: CowUsage = { status: 'active', allocatedSectors: s.allocatedSectors, totalSectors: s.totalSectors, metadataSectors: s.metadataSectors, percent };
  if (percent >= WARN_PERCENT) u.warning = `the COW is ${percent} % full: when it is full the snapshot becomes invalid and what was written to it is lost`;
  return u;
}

/** The snapshot's copy-on-write store: a zram device. */
export async function cowNode(c: ShowCtx, stepName: string): Promise<TreeNode> {
  const st = step(c, stepName);
  const live = await stepLive(c.kernel, st);
  const id = out(st, 'id');
  const z = typeof id === 'number' ? (await quiet(c.kernel.zram.list()))?.find((x) => x.id === id) : undefined;
  if (live.state === 'missing' && z) Object.assign(live, { state: 'drifted', detail: `${z.device} exists but is ${z.initialized ? `${z.disksize} bytes, not ${String(st?.args?.disksize)}` : 'not initialized'}` });
  const n = node('cow', typeof out(st, 'device') === 'string' ? String(out(st, 'device')) : 'zram device', live, stepName);
  if (typeof st?.args?.disksize === 'number') n.disksize = st.args.disksize;
  if (z && live.state === 'present') {
    const u = await quiet(c.kernel.zram.usage(z.id));
    if (u) n.zram = { ...u, ratio: u.comprDataSize > 0 ? Math.round((u.origDataSize / u.comprDataSize) * 100) / 100 : null };
  }
  return n;
}

/** The mount point: the mount (by target and major:minor) and the directories the run made for it. */
export async function mountNode(c: ShowCtx, target: string, stepName: string, dirsStep: string): Promise<TreeNode> {
  const st = step(c, stepName);
  const live = await stepLive(c.kernel, st);
  if (live.state === 'missing') {
    const m = (await quiet(c.kernel.mounts.list()))?.find((x) => x.target === target);
    if (m) Object.assign(live, { state: 'drifted', detail: `${m.source} (${m.majmin}) is mounted there, not the run's device (${String(st?.args?.majmin)})` });
    else live.detail ??= `nothing is mounted on ${target}`;
  }
  const n = node('mountpoint', target, live, stepName);
  const ds = step(c, dirsStep);
  if (ds) n.dirs = { step: dirsStep, paths: Array.isArray(ds.args?.dirs) ? (ds.args.dirs as string[]) : [], ...(await stepLive(c.kernel, ds)) };
  return n;
}
