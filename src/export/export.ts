/**
 * `flow export <id> --to FILE`: a new complete disk image from a done run of
 * snapshot-image or pi-image (plan.ts says which bytes come from where). Before anything
 * changes: the run is exportable (done, this boot's devices), FILE is new in an existing
 * directory and is not the image, the image is the one the run attached, the table allows
 * the growth. Then, atomically: the temporary file is a journaled run of the internal
 * `export-temp` workflow (temp-workflow.ts), which also freezes the mounted snapshots'
 * filesystems (fs.freeze: consistent on their devices, thawed by the same run's rollback),
 * the copy goes into it (sparse), it is fsynced,
 * linked to FILE (link(2) never replaces a FILE made meanwhile) and unlinked, the directory
 * fsynced, and the run rolled back (nothing left to remove). The original image is only
 * ever opened read-only. The target run's lock is held throughout (no rollback meanwhile).
 */
import path from 'node:path';
import { newRunId } from '../../journal/ids.js';
import { FRESH_RUN_LOCK, holding, type Release } from '../../journal/lock.js';
import type { App } from '../app.js';
import { Session } from '../engine/session.js';
import { InterruptedError, LockedError, RunNotFoundError, StepFailedError, UsageError } from '../errors.js';
import { hasCode, type FileHandle } from '../fs/types.js';
import { sameFile, statOrNull } from '../kernel/files.js';
import type { DeviceReader } from '../kernel/types.js';
import { statusOf } from '../cli/render.js';
import { watchStopSignals, type StopSignals } from '../cli/stop-signals.js';
import { isCorrupt, readRuns } from '../cli/ops/runs.js';
import { preflightWorkflow } from '../preflight/workflow.js';
import { optionKey } from '../workflow/params.js';
import { definitionRecord, workflowDefOf } from '../workflow/run-def.js';
import { leftoverExport, tempNameOf } from './names.js';
import { planExport, type ExportPlan } from './plan.js';
import { runSource, type RunSource } from './source.js';
import { dataRuns } from './sparse.js';
import { fatCleaned, fatDirtyAt } from './clean.js';
import { exportTempWorkflow, freezeParam } from './temp-workflow.js';

export interface ExportEnv {
  app: App;
  cwd: string;
  /** progress (bytes done of total), for a terminal */
  progress?(done: number, total: number): void;
  /** named instants of the export, for the crash tests */
  crash?(point: string): void;
  note(line: string): void;
}

export interface ExportResult {
  file: string;
  size: number;
  /** bytes written (the rest are holes) */
  written: number;
  grown: ExportPlan['grown'];
}

/** Bytes read and scanned at a time; holes are made at 4 KiB granularity. */
const CHUNK = 1 << 20;
const BLOCK = 4096;
const HEAD = 1 << 20;
const STOPPED = 'the export stopped: its temporary file is removed and no image was written; export again';

/** The run's source, checked as exportable now; throws a refusal naming what to do. */
async function sourceOf(app: App, id: string): Promise<RunSource> {
  const s = Session.open(await app.store.load(id));
  const st = s.state;
  const src = runSource(st);
  if (typeof src === 'string') throw new UsageError(src, 'give the id of a snapshot-image or pi-image run (flow list)');
  if (s.phase !== 'done') {
    const hint = s.phase === 'rolled-back' ? 'its snapshots are gone; start a new run with `flow run`' : `finish it first: \`flow resume ${id}\` (or \`flow rollback ${id}\`)`;
    throw new UsageError(`run ${id} is ${statusOf(s.phase)}, not done: there is no snapshot to export`, hint);
  }
  if ((await app.kernel.system.bootId()) !== st.bootId || st.steps.some((x) => x.status !== 'applied')) {
    throw new UsageError(`run ${id} was made before the host rebooted: the reboot took its devices`, `\`flow resume ${id}\` rebuilds them (a persistent COW keeps its changes); then export again`);
  }
  return src;
}

const under = (p: string, dir: string) => dir === '/' || p === dir || p.startsWith(`${dir}/`);

/** FILE: absolute, new, in an existing directory, not the image, not inside the run's mounted snapshots (frozen while the export writes). */
async function checkTarget(app: App, file: string, image: string, mountpoints: readonly string[]): Promise<void> {
  const fs = app.kernel.fs;
  const dir = path.dirname(file);
  const d = await statOrNull(fs, dir);
  if (!d || d.kind !== 'dir') throw new UsageError(`${dir} ${d ? 'is not a directory' : 'does not exist'}: flow export writes ${path.basename(file)} there`, d ? 'give a path in a directory' : `create it first (mkdir -p ${dir})`);
  const realDir = await fs.realpath(dir);
  const reals = await Promise.all(mountpoints.map((m) => fs.realpath(m).catch(() => m)));
  const inside = reals.find((m) => under(realDir, m));
  if (inside !== undefined) throw new UsageError(`${file} is inside the run's mounted snapshot ${inside}: flow export freezes it while it copies (and the image would hold itself)`, 'give a path outside the run\'s mounts');
  if (path.join(realDir, path.basename(file)) === (await fs.realpath(image).catch(() => image))) throw new UsageError(`${file} is the run's source image: flow export never writes the original`, 'give another path for the new image');
  if (await fs.lstat(file).then(() => true, (e: unknown) => (hasCode(e, 'ENOENT') ? false : Promise.reject(e)))) throw new UsageError(`${file} exists: flow export never replaces a file`, 'remove it or give another path');
}

/** Rolls back export runs an earlier, killed flow export left (its temporary file); one another flow holds is left to it. */
async function settleLeftovers(env: ExportEnv): Promise<void> {
  for (const r of await readRuns(env.app)) {
    if (isCorrupt(r) || !leftoverExport(r)) continue;
    try {
      await env.app.runner({}).rollback(r.id, 'recover');
      env.note(`rolled back export run ${r.id}, left by an export that was killed (its temporary file removed)`);
    } catch (err) {
      if (!(err instanceof LockedError)) throw err;
    }
  }
}

export async function exportRun(env: ExportEnv, id: string, to: string): Promise<ExportResult> {
  const { app } = env;
  if (!(await app.store.exists(id))) throw new RunNotFoundError(`no run ${id} in ${app.store.dirs.runs}`, 'list runs with `flow list`');
  const file = path.resolve(env.cwd, to);
  const releaseTarget = await app.locks.acquire(`run-${id}`, { wait: false, what: `run ${id}` });
  try {
    const src = await sourceOf(app, id);
    await checkTarget(app, file, src.image, src.mountpoints);
    const fs = app.kernel.fs;
    const st = await statOrNull(fs, src.image);
    if (!st || st.kind !== 'file' || sameFile(st, src.identity) === 'other') throw new UsageError(`${src.image} is not the file run ${id} attached (replaced or removed since)`, `the run's snapshots are of the file it attached; \`flow show ${id}\``);
    const img = await fs.open(src.image, { mode: 'read', noFollow: true });
    let plan: ExportPlan;
    try {
      const table = await app.kernel.partitions.read(src.image);
      const head = await img.read(Math.min(HEAD, st.size), 0);
      const snapshots = [];
      for (const s of src.snapshots) snapshots.push({ ...s, bytes: await app.kernel.system.blockDeviceSize(s.device) });
      plan = planExport({ imageSize: st.size, table, head, snapshots });
      const copies = await copiesOf(app, plan, snapshots);
      await settleLeftovers(env);
      for (const m of src.mountpoints) await app.kernel.filesystems.sync(m);
      const freeze = await freezable(app, src.mountpoints);
      const written = await withTemp(env, file, plan.size, freeze, (out, signals, rid) => copy(env, img, out, plan, signals, rid).then(async (n) => (await cleanFat(out, copies), n)));
      return { file, size: plan.size, written, grown: plan.grown };
    } finally {
      await img.close();
    }
  } finally {
    await releaseTarget();
  }
}

/** Filesystems FIFREEZE can freeze (vfat cannot: EOPNOTSUPP; its copy is made clean by clean.ts). */
const FREEZABLE = new Set(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs']);

/** The run's mountpoints whose filesystem can be frozen, the innermost first (a thaw in reverse then goes outside in). */
async function freezable(app: App, mountpoints: readonly string[]): Promise<string[]> {
  const mounts = await app.kernel.mounts.list();
  const out: string[] = [];
  // mountinfo names a mount by its canonical path
  for (const m of mountpoints) {
    const real = await app.kernel.fs.realpath(m).catch(() => m);
    if (mounts.some((e) => e.target === real && FREEZABLE.has(e.fstype))) out.push(real);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** The frozen-already mounts of a started export run: another program froze them (fs.freeze's `frozenBefore`). */
function frozenBefore(state: { steps: readonly { def: { kind: string }; outputs?: Record<string, unknown> }[] }): string[] {
  return state.steps.filter((x) => x.def.kind === 'fs.freeze' && x.outputs?.frozenBefore === true).map((x) => String(x.outputs?.target));
}

/**
 * The export run around `fill`: the temporary file created (journaled), the `freeze`
 * mountpoints frozen (journaled), the file filled, fsynced, given FILE's name, the run
 * rolled back (which thaws them). On a failure or an interruption the run's rollback
 * removes the temporary file and thaws the filesystems.
 */
async function withTemp(env: ExportEnv, file: string, size: number, freeze: readonly string[], fill: (out: FileHandle, signals: StopSignals, rid: string) => Promise<number>): Promise<number> {
  const { app } = env;
  const fs = app.kernel.fs;
  let rid = newRunId();
  while (await app.store.exists(rid)) rid = newRunId();
  const temp = path.join(path.dirname(file), tempNameOf(path.basename(file), rid));
  const release: Release = await app.locks.acquire(`run-${rid}`, FRESH_RUN_LOCK(rid));
  const signals = watchStopSignals('stopping the export; its temporary file is removed');
  const locks = holding(app.locks, `run-${rid}`);
  let started = false;
  let rolledBack = false;
  try {
    const loaded = exportTempWorkflow(freeze.length);
    const params: Record<string, string> = { temp, size: String(size) };
    freeze.forEach((m, i) => (params[optionKey(freezeParam(i + 1))] = m));
    const pf = await preflightWorkflow(loaded, params, { kernel: app.kernel, cwd: env.cwd, runDir: app.runDir, id: rid, newUuid: app.newUuid });
    const starter = app.runner({ interrupted: () => signals.received, locks, observe: () => (started = true) });
    let frozen: string[];
    try {
      frozen = frozenBefore((await starter.start({ id: rid, workflow: workflowDefOf(loaded, pf), params: pf.params, definition: definitionRecord(loaded, pf), keepOnFailure: false })).state);
    } catch (err) {
      if (err instanceof InterruptedError) await app.runner({ locks }).rollback(rid);
      throw err;
    }
    let written: number;
    try {
      // another program's freeze may end at any moment, mid-copy: never copy under it
      if (frozen.length > 0) throw new UsageError(`${frozen.join(' and ')} ${frozen.length > 1 ? 'are' : 'is'} frozen by another program (fsfreeze): flow export freezes it itself for the copy, and leaves that freeze alone`, `when that program has thawed it (fsfreeze -u -- ${frozen[0]}), export again`);
      const out = await fs.open(temp, { mode: 'write', noFollow: true });
      try {
        written = await fill(out, signals, rid);
        await out.sync();
      } finally {
        await out.close();
      }
      env.crash?.('export:copied');
      if (signals.received) throw new InterruptedError(rid, signals.received, STOPPED);
      // link(2), not rename(2): a FILE that appeared meanwhile is never replaced
      try {
        await fs.link(temp, file);
      } catch (err) {
        if (hasCode(err, 'EEXIST')) throw new UsageError(`${file} exists: something made it while flow exported; flow never replaces a file`, 'remove it or give another path, and export again');
        throw err;
      }
      env.crash?.('export:linked');
      await fs.unlink(temp);
      await fs.syncDir(path.dirname(file));
      env.crash?.('export:renamed');
    } finally {
      // the rollback is short and must finish: a stop signal now waits for it (flow recover would do it otherwise)
      signals.dispose();
      const hold = watchStopSignals('removing the temporary file first');
      try {
        await app.runner({ locks }).rollback(rid);
        rolledBack = true;
      } finally {
        hold.dispose();
      }
    }
    return written;
  } catch (err) {
    const gone = rolledBack || err instanceof InterruptedError || (err instanceof StepFailedError && err.rolledBack);
    if (started && !gone) env.note(`the export run is ${rid}: \`flow rollback ${rid}\` (or \`flow recover\`) removes its temporary file ${temp}`);
    throw err;
  } finally {
    signals.dispose();
    await release();
  }
}

/** A snapshotted partition's copy in the new image: where it starts and its filesystem ('' when none is recognised). */
interface Copied {
  at: number;
  type: string;
}

async function copiesOf(app: App, plan: ExportPlan, snapshots: readonly { device: string }[]): Promise<Copied[]> {
  const out: Copied[] = [];
  for (const s of snapshots) {
    const e = plan.extents.find((x) => x.from.kind === 'device' && x.from.device === s.device);
    if (e) out.push({ at: e.at, type: (await app.kernel.filesystems.probe(s.device))?.type ?? '' });
  }
  return out;
}

/** The copies of mounted FATs, their dirty bit cleared as an unmount would (clean.ts). */
async function cleanFat(out: FileHandle, copies: readonly Copied[]): Promise<void> {
  for (const c of copies.filter((x) => x.type === 'vfat')) {
    const boot = await out.read(512, c.at);
    const at = fatDirtyAt(boot);
    if (at !== null) await out.write(fatCleaned(boot, at), c.at);
  }
}

/** Copies the plan into `out` (created at its full size: holes read as zeros): data blocks only, then the table. */
async function copy(env: ExportEnv, img: FileHandle, out: FileHandle, plan: ExportPlan, signals: StopSignals, rid: string): Promise<number> {
  const total = plan.extents.reduce((n, e) => n + (e.from.kind === 'zero' ? 0 : e.length), 0);
  let done = 0;
  let written = 0;
  let first = true;
  for (const e of plan.extents) {
    const from = e.from;
    if (from.kind === 'zero') continue;
    const source: DeviceReader = from.kind === 'image' ? { read: (n, at) => img.read(n, at), close: async () => undefined } : await env.app.kernel.system.openBlockDevice(from.device);
    try {
      for (let off = 0; off < e.length; off += CHUNK) {
        if (signals.received) throw new InterruptedError(rid, signals.received, STOPPED);
        const n = Math.min(CHUNK, e.length - off);
        const buf = await source.read(n, from.offset + off);
        for (const [a, b] of dataRuns(buf, BLOCK)) {
          await out.write(buf.subarray(a, b), e.at + off + a);
          written += b - a;
        }
        done += n;
        env.progress?.(done, total);
        if (first) env.crash?.('export:copying');
        first = false;
      }
    } finally {
      await source.close();
    }
  }
  for (const w of plan.writes) await out.write(w.bytes, w.offset);
  return written;
}
