/**
 * Host helpers for the real-kernel SIGKILL matrix (lab only): async processes (so two or
 * three lanes run side by side), one snapshot of what the kernel holds (loops, dm with
 * tables, zram, mounts), and that snapshot scoped to one lane and normalised (run id,
 * lane folder and device numbers replaced by names) so a run's state can be compared with
 * the state an uninterrupted run left.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { StepKind } from '../../machines/types.js';
import { KIND_SPECS } from '../../src/steps/kinds/index.js';
import type { ShowSpec } from '../../src/steps/kinds/spec.js';
import { operatorWindow } from '../../src/verify/matrix.js';
import { cliFor, ROOT, TEST_ENTRY } from './real-host.js';

/**
 * The CLI every matrix invocation runs (the shipped entry, or the test entry when `env` sets a
 * test switch), decided here only. (Running a copy of dist/ from the guest's tmpfs instead of
 * the host's files over 9p was measured: no gain beyond the noise, the root is mounted
 * cache=loose.)
 */
export function cli(env: NodeJS.ProcessEnv): string {
  return cliFor(env);
}

/** The V8 startup snapshot of the test build (testSnapshot), used for the test entry's invocations once made. */
let snapshotBlob: string | undefined;

/**
 * Makes a V8 startup snapshot (`node --build-snapshot`) of the test build's command line,
 * dist/test/chunks/flow-test.cjs (the very bundle dist/test/flow.js loads), in `dir`: every
 * matrix invocation that sets a test switch (the killed runs and recoveries, the point
 * lists: most of the matrix) then starts from it instead of compiling the bundle from its
 * code cache. Measured in the lab: a test entry start (`--version`) 1.7-1.9 s → 0.6-0.9 s,
 * a killed run, resume or rollback of loop-mount ~1 s less each (5-7 s → 4-5 s at load ~8).
 * The shipped binary is untouched: the invocations without a test switch (the recoveries that
 * finish, the refusals, I5) run dist/bin/flow.js as before. The snapshot is made where it
 * runs (a snapshot holds the V8 flags and CPU features it was made with; another machine's
 * is refused), from the bundle's module code only: nothing of a command has run in it, and
 * it is checked to answer `--version` as the test entry does. FLOW_LAB_SIGKILL_SNAPSHOT=0:
 * without it.
 */
export async function testSnapshot(dir: string): Promise<string | undefined> {
  if (process.env.FLOW_LAB_SIGKILL_SNAPSHOT === '0') return undefined;
  const bundle = join(dirname(TEST_ENTRY), 'chunks/flow-test.cjs');
  const entry = join(dir, 'flow-test-snapshot.cjs');
  const blob = join(dir, 'flow-test.blob');
  // the bundle in node's CommonJS wrapper, as the loader runs it (src/cli/code-cache.ts);
  // the main function gets the argv testMain expects (node, script, args): a snapshot's has no script
  writeFileSync(
    entry,
    `const __m = { exports: {} };\n(function (exports, require, module, __filename, __dirname) {${readFileSync(bundle, 'utf8')}\n})(__m.exports, require, __m, ${JSON.stringify(bundle)}, ${JSON.stringify(dirname(bundle))});\n` +
      `require('node:v8').startupSnapshot.setDeserializeMainFunction(() => __m.exports.testMain([process.argv[0], ${JSON.stringify(TEST_ENTRY)}, ...process.argv.slice(1)]));\n`,
  );
  const env = { PATH: process.env.PATH, LANG: 'C.UTF-8' };
  const made = await run([process.execPath, '--snapshot-blob', blob, '--build-snapshot', entry], { env, cwd: ROOT });
  if (made.code !== 0) throw new Error(`node --build-snapshot of ${bundle} exited ${made.code}: ${made.stderr}`);
  const [a, b] = await Promise.all([run([process.execPath, '--snapshot-blob', blob, '--', '--version'], { env }), run([process.execPath, TEST_ENTRY, '--version'], { env })]);
  if (a.code !== 0 || a.stdout !== b.stdout) throw new Error(`the snapshot of the test build answers --version with ${a.code} ${a.stdout}${a.stderr}, the test entry ${b.code} ${b.stdout}`);
  snapshotBlob = blob;
  return blob;
}

/** The argv of the built CLI for an environment: the test entry from its snapshot once testSnapshot made one. */
function cliArgv(env: NodeJS.ProcessEnv): string[] {
  const c = cli(env);
  return c === TEST_ENTRY && snapshotBlob ? [process.execPath, '--snapshot-blob', snapshotBlob, '--'] : [process.execPath, c];
}

export interface Proc {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a program (no shell), never throws; resolves when it has exited and its pipes closed. */
export function run(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<Proc> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? { ...process.env, LC_ALL: 'C' }, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err), ms: Date.now() - started });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** Like run, but throws unless the program exits 0. */
export async function must(argv: string[], input?: string): Promise<string> {
  const r = await run(argv, { input });
  if (r.code !== 0) throw new Error(`${argv.join(' ')} exited ${r.code ?? r.signal}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** The built CLI on the real kernel, with a lane's state and run folders (the test entry when `extra` sets a test switch). */
export function flowCli(lane: { stateDir: string; runDir: string; dir: string }, args: string[], extra: Record<string, string> = {}): Promise<Proc> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8', FLOW_STATE_DIR: lane.stateDir, FLOW_RUN_DIR: lane.runDir, ...extra };
  return run([...cliArgv(env), ...args], { env, cwd: lane.dir });
}

export interface Loop {
  name: string;
  back: string;
  ro: string;
  offset: string;
  sizelimit: string;
  majmin: string;
}
export interface Dm {
  name: string;
  uuid: string;
  majmin: string;
  attr: string;
  table: string[];
}
export interface Zram {
  name: string;
  disksize: string;
  initstate: string;
  majmin: string;
}
export interface Mount {
  majmin: string;
  target: string;
  options: string;
  fstype: string;
}
export interface Raw {
  loops: Loop[];
  dm: Dm[];
  zram: Zram[];
  mounts: Mount[];
}

/** How often the dm listings are read again when a device vanished while dmsetup walked them. */
const DM_LIST_ATTEMPTS = 5;

/**
 * `dmsetup info` and `dmsetup table` of every device. Without a name, dmsetup lists the names and
 * then asks for each: a device another lane's flow removes in between fails the whole listing with
 * ENXIO ("table ioctl on NAME failed: No such device or address"). That is the host moving, not a
 * fault of the run under test, so the listing is read again (flow's own listing does the same,
 * src/kernel/real/dm.ts); any other failure, or ENXIO five times over, is thrown.
 */
async function dmListings(): Promise<[string, string]> {
  for (let attempt = 1; ; attempt++) {
    // two processes, not three: every exec costs tens of ms under emulation, and this runs after every kill
    const [info, tables] = await Promise.all([
      run(['dmsetup', 'info', '-c', '--noheadings', '--separator', ';', '-o', 'name,uuid,major,minor,attr']),
      run(['dmsetup', 'table']),
    ]);
    const failed = [info, tables].filter((r) => r.code !== 0);
    if (failed.length === 0) return [info.stdout, tables.stdout];
    const vanished = failed.every((r) => /No such device or address/.test(r.stderr));
    if (!vanished || attempt >= DM_LIST_ATTEMPTS) {
      const r = failed[0]!;
      throw new Error(`dmsetup ${r === info ? 'info' : 'table'} exited ${r.code ?? r.signal}: ${r.stderr}${r.stdout}`);
    }
  }
}

/** Everything a run could have made, read from sysfs (loop, zram), dmsetup and mountinfo. */
export async function hostRaw(): Promise<Raw> {
  const [info, tables] = await dmListings();
  const loops = sysLoops();
  const tableOf = new Map<string, string[]>();
  for (const l of tables.split('\n')) {
    const m = /^(\S+): (.*)$/.exec(l);
    if (m) tableOf.set(m[1]!, [...(tableOf.get(m[1]!) ?? []), m[2]!.trim()]);
  }
  const dm = info
    .split('\n')
    .filter((l) => l.includes(';'))
    .map((l) => {
      const [name, uuid, major, minor, attr] = l.split(';');
      return { name: name!, uuid: uuid!, majmin: `${major}:${minor}`, attr: attr!, table: tableOf.get(name!) ?? [] };
    });
  const zram = readdirSync('/sys/block')
    .filter((n) => /^zram\d+$/.test(n))
    .flatMap((n) => {
      const rd = (f: string) => {
        try {
          return readFileSync(`/sys/block/${n}/${f}`, 'utf8').trim();
        } catch {
          return undefined;
        }
      };
      const [disksize, initstate, majmin] = [rd('disksize'), rd('initstate'), rd('dev')];
      // hot-removed while we read: gone, as it is when the view is compared
      if (disksize === undefined || initstate === undefined || majmin === undefined) return [];
      return [{ name: n, disksize, initstate, majmin }];
    });
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      const sep = f.indexOf('-');
      return { majmin: f[2]!, target: unescapeMount(f[4]!), options: `${f[5]} ${f[sep + 3] ?? ''}`, fstype: f[sep + 1]! };
    });
  return { loops, dm, zram, mounts };
}

/** The bound loop devices as `losetup -l` shows them, from /sys/block/loopN (loop/ exists while bound). */
function sysLoops(): Loop[] {
  const out: Loop[] = [];
  for (const n of readdirSync('/sys/block')) {
    if (!/^loop\d+$/.test(n)) continue;
    const rd = (f: string) => {
      try {
        return readFileSync(`/sys/block/${n}/${f}`, 'utf8').trim();
      } catch {
        return undefined;
      }
    };
    const back = rd('loop/backing_file');
    if (back === undefined) continue; // not bound (or unbound while we read)
    out.push({ name: `/dev/${n}`, back, ro: rd('ro') ?? '?', offset: rd('loop/offset') ?? '?', sizelimit: rd('loop/sizelimit') ?? '?', majmin: rd('dev') ?? '?' });
  }
  return out;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The same host in a comparable form (foreign objects included): for before/after equality. */
export function globalView(r: Raw): string[] {
  return [
    ...r.loops.map((l) => `loop ${l.name} ${l.back} ro=${l.ro} off=${l.offset}`),
    ...r.dm.map((d) => `dm ${d.name} ${d.uuid} ${d.attr} ${d.table.join(' | ')}`),
    ...r.zram.map((z) => `zram ${z.name} ${z.disksize} ${z.initstate}`),
    ...r.mounts.map((m) => `mount ${m.target} ${m.majmin} ${m.fstype}`),
  ].sort();
}

/** A lane: its folder (sandbox), state and run folders, and the foreign objects it made. */
export interface LaneScope {
  dir: string;
  stateDir: string;
  runDir: string;
  /** loop devices made by the test (foreign to every run) */
  foreignLoops: Set<string>;
  /** zram devices that existed before the matrix (foreign) */
  zramBefore: Set<string>;
  /** whether zram devices not in zramBefore are this lane's (one zram lane at a time) */
  ownsZram: boolean;
}

/** Run ids with a document (or a temp file of one) in a lane's state folder. */
export function laneRunIds(l: LaneScope): Set<string> {
  const dir = join(l.stateDir, 'runs');
  const ids = new Set<string>();
  if (!existsSync(dir)) return ids;
  for (const n of readdirSync(dir)) {
    const m = /^\.?([a-z2-9]{8})\.json/.exec(n);
    if (m) ids.add(m[1]!);
  }
  return ids;
}

export interface Scoped {
  loops: Loop[];
  dm: Dm[];
  zram: Zram[];
  mounts: Mount[];
  /** entries under the run folder (not crossing mounts), relative */
  files: string[];
}

/** What of the host belongs to runs of this lane. */
export function scoped(r: Raw, l: LaneScope, ids: Set<string>): Scoped {
  const mine = (p: string) => p.startsWith(l.dir + '/');
  const dmId = (d: Dm) => /^FLOW-([a-z2-9]{8})-/.exec(d.uuid)?.[1] ?? /^flow-([a-z2-9]{8})/.exec(d.name)?.[1];
  return {
    loops: r.loops.filter((x) => mine(x.back.replace(/ \(deleted\)$/, '')) && !l.foreignLoops.has(x.name)),
    dm: r.dm.filter((d) => ids.has(dmId(d) ?? '')),
    zram: l.ownsZram ? r.zram.filter((z) => !l.zramBefore.has(z.name)) : [],
    mounts: r.mounts.filter((m) => mine(m.target)),
    files: tree(l.runDir, r.mounts),
  };
}

function tree(root: string, mounts: Mount[]): string[] {
  const out: string[] = [];
  const mountpoints = new Set(mounts.map((m) => m.target));
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      const st = statSync(p, { throwIfNoEntry: false });
      out.push(relative(root, p) + (st?.isDirectory() ? '/' : ''));
      if (st?.isDirectory() && !mountpoints.has(p)) walk(p);
    }
  };
  walk(root);
  return out;
}

/** A scoped state with the run id, the lane folder and device numbers replaced by names. */
export function normalised(s: Scoped, r: Raw, l: LaneScope, id: string): string[] {
  const n = (x: string) => x.split(id).join('<id>').split(l.dir).join('<lane>');
  const sym = new Map<string, string>();
  for (const x of r.loops) sym.set(x.majmin, l.foreignLoops.has(x.name) ? 'foreign-loop' : `loop:${n(x.back)}`);
  for (const x of r.dm) sym.set(x.majmin, `dm:${n(x.name)}`);
  for (const x of r.zram) sym.set(x.majmin, l.zramBefore.has(x.name) ? 'foreign-zram' : 'zram');
  const dev = (t: string) => t.replace(/\b(\d+):(\d+)\b/g, (m) => sym.get(m) ?? `?${m}`);
  return [
    ...s.loops.map((x) => `loop ${n(x.back)} ro=${x.ro} off=${x.offset} lim=${x.sizelimit}`),
    ...s.dm.map((d) => `dm ${n(d.name)} ${n(d.uuid)} ${d.attr} ${d.table.map(dev).join(' | ')}`),
    ...s.zram.map((z) => `zram ${z.disksize} ${z.initstate}`),
    ...s.mounts.map((m) => `mount ${n(m.target)} ${dev(m.majmin)} ${m.fstype} ${m.options}`),
    ...s.files.map((f) => `file ${n(f)}`),
  ].sort();
}

export const isEmpty = (s: Scoped) => s.loops.length + s.dm.length + s.zram.length + s.mounts.length + s.files.length === 0;

/** True once the process is gone (reaped, or a zombie waiting to be). */
export function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return / Z /.test(stat.slice(stat.lastIndexOf(')')));
  } catch {
    return true;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls (every 50 ms) until the process is gone or `maxMs` passed; returns the time waited. */
export async function waitGone(pid: number, maxMs: number): Promise<number> {
  const started = Date.now();
  while (!gone(pid) && Date.now() - started < maxMs) await sleep(50);
  return Date.now() - started;
}

/** How the matrix kills flow at a point: alone before any command, or while the point's command runs (flow alone, or with its process group). */
export type KillVariant = 'plain' | 'alone' | 'group';

/**
 * May flow rightly stop for the operator after a kill at `point` of a run whose steps have
 * `kinds` (step name → kind)? The same source as `flow verify` (src/verify/matrix.ts,
 * `operatorWindow`: each kind's `unmarked.operatorWindow`): a loop or zram device made and
 * its outcome not yet durable. One addition the in-process matrix cannot have: at
 * `command-running` killed with the command running (`alone`, `group`), the command may
 * have made the device (a loop.attach's point fires before losetup in process; here the kill
 * waits for losetup to start).
 */
export function operatorStopRight(point: string, variant: KillVariant, kinds: ReadonlyMap<string, string>): boolean {
  const m = /^apply:(.+):([a-z-]+)$/.exec(point);
  const kind = m ? kinds.get(m[1]!) : undefined;
  if (!m || !kind) return false;
  const window = operatorWindow(kind);
  return window.includes(m[2]!) || (window.length > 0 && m[2] === 'command-running' && variant !== 'plain');
}

/** The steps of a run (`kinds`: step name → kind) whose kind makes what `flow show` draws as `node`, from the kinds' specs (`show.node`). */
export function stepsMaking(node: ShowSpec['node'], kinds: ReadonlyMap<string, string>): string[] {
  return [...kinds].filter(([, k]) => Object.hasOwn(KIND_SPECS, k) && KIND_SPECS[k as StepKind].show?.node === node).map(([step]) => step);
}

/** The steps of a run of kind `kind`. */
export const stepsOfKind = (kind: StepKind, kinds: ReadonlyMap<string, string>): string[] => [...kinds].filter(([, k]) => k === kind).map(([step]) => step);
