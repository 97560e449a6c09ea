/**
 * Judges one power-cut round from what the guest left in the share: the runs' stdout up to
 * the cut, the halt markers, and the recovery boot's outputs and kernel records
 * (guest.sh). Everything is checked here, on the host: the journals read back, every
 * outcome flow had printed is in its journal, and the end state is exact.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SyncCall } from '../../journal/durability.js';
import type { Fs, PlannedRun, Workflow } from './plan.js';

export interface Tally {
  pointsEnumerated: number;
  pointsTried: Set<string>;
  resumed: number;
  rolledBack: number;
  alreadyClean: number;
  violations: string[];
  leaks: string[];
}

export const newTally = (enumerated: number): Tally => ({ pointsEnumerated: enumerated, pointsTried: new Set(), resumed: 0, rolledBack: 0, alreadyClean: 0, violations: [], leaks: [] });

export interface RoundResult {
  round: string;
  how: 'resume' | 'rollback';
  /** plain runs, per workflow */
  workflows: Record<Workflow, Tally>;
  /** runs with a sync disabled, per mutant */
  mutants: Partial<Record<SyncCall, Tally>>;
  /** violations of the plain runs that belong to no one workflow (flow list of the shared state directory) */
  general: Tally;
  /** the harness itself failed (a run never reached its point, a record is missing) */
  harness: string[];
}

interface Event {
  seq: number;
  type: string;
  step?: string;
  workflow?: string;
  params?: Record<string, unknown>;
}

const read = (f: string): string | undefined => (existsSync(f) ? readFileSync(f, 'utf8') : undefined);
const json = <T>(f: string): T | undefined => {
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as T;
  } catch {
    return undefined;
  }
};
const rc = (f: string): number | undefined => {
  const t = read(f)?.trim();
  return t === undefined || t === '' ? undefined : Number(t);
};

/** The kernel objects one record holds, with every major:minor resolved to a name. */
export interface KernelRecord {
  dm: Map<string, string[]>;
  loops: string[];
  zram: string[];
  /** mounts under /run/flow: "target source fstype options" */
  mounts: string[];
  /** every mount as "majmin target fstype" (to compare with the boot's own) */
  allMounts: string[];
  runflow: string[];
  files: string[];
  blocks: Map<string, number>;
}

export function readRecord(dir: string, name: string): KernelRecord {
  const f = (ext: string) => read(join(dir, `${name}.${ext}`)) ?? '';
  const names = new Map<string, string>();
  const loopsJson = (json<{ loopdevices: { name: string; 'back-file': string; ro: boolean | string; 'maj:min': string }[] }>(join(dir, `${name}.losetup`)) ?? { loopdevices: [] }).loopdevices;
  for (const l of loopsJson) names.set(l['maj:min'].trim(), `loop(${l['back-file']})`);
  for (const line of f('dminfo').split('\n').filter((l) => l.trim() && !/No devices found/.test(l))) {
    const [n, , maj, min] = line.trim().split(/\s+/);
    names.set(`${maj}:${min}`, `dm(${n})`);
  }
  const zramLines = f('zram').split('\n').filter(Boolean).map((l) => l.split(' '));
  for (const [n, size, mm] of zramLines) names.set(mm!, `zram(${size})`);
  const norm = (tok: string) => (/^\d+:\d+$/.test(tok) ? (names.get(tok) ?? `unknown(${tok})`) : tok);
  const dm = new Map<string, string[]>();
  for (const line of f('dmtable').split('\n')) {
    const m = /^(\S+): (.*)$/.exec(line);
    if (!m) continue;
    dm.set(m[1]!, [...(dm.get(m[1]!) ?? []), m[2]!.trim().split(/\s+/).map(norm).join(' ')]);
  }
  const mounts: string[] = [];
  const allMounts: string[] = [];
  for (const line of f('mountinfo').split('\n').filter(Boolean)) {
    const x = line.split(' ');
    const sep = x.indexOf('-');
    allMounts.push(`${x[2]} ${x[4]} ${x[sep + 1]}`);
    if (!x[4]!.startsWith('/run/flow/')) continue;
    const opts = [...x[5]!.split(','), ...(x[sep + 3] ?? '').split(',')].filter((o) => ['ro', 'rw', 'sync'].includes(o));
    mounts.push(`${x[4]} ${norm(x[2]!)} ${x[sep + 1]} ${[...new Set(opts)].sort().join(',')}`);
  }
  const blocks = new Map<string, number>();
  for (const line of f('blocks').split('\n').filter(Boolean)) {
    const [n, b] = line.split(' ');
    blocks.set(n!, Number(b));
  }
  return {
    dm,
    loops: loopsJson.map((l) => `${l['back-file']} ${l.ro === true || l.ro === '1' ? 'ro' : 'rw'}`).sort(),
    zram: zramLines.map(([n, size]) => `${n} ${size}`).sort(),
    mounts: mounts.sort(),
    allMounts: allMounts.sort(),
    runflow: f('runflow').split('\n').filter(Boolean).sort(),
    files: f('files').split('\n').filter(Boolean).sort(),
    blocks,
  };
}

export interface RunInfo {
  id: string;
  fs: Fs;
  workflow: Workflow | undefined;
  params: Record<string, any> | undefined;
}

/** A path param: a plain string (format-1 and TS workflows) or a resolved file param's `.path` (workflow files). */
const pathOf = (v: unknown): string => (v !== null && typeof v === 'object' ? String((v as { path: unknown }).path) : String(v));

/** What the kernel must hold for a run that is done (from its RunStarted params). */
export function expectedDone(r: RunInfo): { dm: Map<string, string[]>; loops: string[]; cows: string[]; mounts: string[]; blocks: Map<string, number>; files: string[] } {
  const p = r.params!;
  const dm = new Map<string, string[]>();
  const blocks = new Map<string, number>();
  const files: string[] = [];
  let loops: string[] = [];
  let cows: string[] = [];
  let mounts: string[] = [];
  if (r.workflow === 'snapshot-image') {
    // the params as the workflow file records them (image, partition and mountpoint resolved to objects,
    // kebab-case names), or a format-1 run's TS shape (image a string, partStart/partSectors, cowSize)
    const file = typeof p.partition === 'object' && p.partition !== null;
    const [start, sectors] = file ? [p.partition.start, p.partition.sectors] : [p.partStart, p.partSectors];
    const cowSize = p['cow-size'] ?? p.cowSize;
    const image = pathOf(p.image);
    const total = Math.max(Math.floor(p.size / 512), sectors);
    dm.set(`${p.name}-base`, [`0 ${sectors} linear loop(${image}) ${start}`, ...(total > sectors ? [`${sectors} ${total - sectors} zero`] : [])]);
    dm.set(p.name, [`0 ${total} snapshot dm(${p.name}-base) zram(${cowSize}) N ${p.chunk}`]);
    loops = [`${image} ro`];
    cows = [String(cowSize)];
    mounts = [`${pathOf(p.mountpoint)} dm(${p.name}) ext4 rw`];
    // grown to the snapshot: the file's grow on a mounted ext2/3/4, or the TS shape's grow as its preflight decided it
    const grows = file ? p.grow && p.mount !== false && /^ext[234]$/.test(String(p.partition.filesystem)) : p.grow;
    if (grows) blocks.set(p.name, (total * 512) / 4096);
  } else if (r.workflow === 'delayed-device') {
    // the params as the workflow file records them (file and mountpoint resolved to objects, kebab-case names)
    const file = pathOf(p.file);
    const [readDelay, writeDelay] = [p['read-delay'] ?? p.readDelay, p['write-delay'] ?? p.writeDelay];
    const sectors = Math.floor(p.size / 512);
    const delay = readDelay === writeDelay ? `0 ${readDelay}` : `0 ${readDelay} loop(${file}) 0 ${writeDelay}`;
    dm.set(p.name, [`0 ${sectors} delay loop(${file}) ${delay}`]);
    loops = [`${file} rw`];
    mounts = [`${pathOf(p.mountpoint)} dm(${p.name}) ext4 rw${p.sync ? ',sync' : ''}`];
    blocks.set(p.name, p.size / 4096);
    if (typeof p.file === 'object' ? p.file.identity == null : p.createFile) files.push(file);
  } else if (r.workflow === 'loop-mount') {
    const ro = p['read-only'] ?? p.readOnly;
    loops = [`${pathOf(p.file)} ${ro ? 'ro' : 'rw'}`];
    mounts = [`${pathOf(p.mountpoint)} loop(${pathOf(p.file)}) ext4 ${ro ? 'ro' : 'rw'}`];
  }
  return { dm, loops, cows, mounts, blocks, files };
}

const sorted = (a: string[]) => [...a].sort();
const diff = (what: string, got: string[], want: string[]): string[] => {
  const g = sorted(got);
  const w = sorted(want);
  if (JSON.stringify(g) === JSON.stringify(w)) return [];
  const extra = g.filter((x) => !w.includes(x));
  const missing = w.filter((x) => !g.includes(x));
  return [`${what}: ${extra.length ? `unexpected ${JSON.stringify(extra)}` : ''}${extra.length && missing.length ? '; ' : ''}${missing.length ? `missing ${JSON.stringify(missing)}` : ''}`];
};

/** The done state of every resumed run, exactly: dm tables (majors:minors resolved), loops, COWs, mounts, grown filesystems, files. */
function checkDone(rec: KernelRecord, base: KernelRecord, runs: RunInfo[], round: string): string[] {
  const want = runs.map(expectedDone);
  const problems: string[] = [];
  const wantDm = new Map<string, string[]>();
  for (const w of want) for (const [k, v] of w.dm) wantDm.set(k, v);
  problems.push(...diff('dm devices', [...rec.dm.keys()], [...wantDm.keys()]));
  for (const [name, lines] of wantDm) {
    const got = rec.dm.get(name);
    if (got && JSON.stringify(got) !== JSON.stringify(lines)) problems.push(`dm table of ${name}: ${JSON.stringify(got)}, expected ${JSON.stringify(lines)}`);
  }
  problems.push(...diff('loop devices', rec.loops, want.flatMap((w) => w.loops)));
  const newZram = rec.zram.filter((z) => !base.zram.includes(z)).map((z) => z.split(' ')[1]!);
  problems.push(...diff('zram COW devices (disksize)', newZram, want.flatMap((w) => w.cows)));
  problems.push(...diff('mounts under /run/flow', rec.mounts, want.flatMap((w) => w.mounts)));
  for (const w of want) {
    for (const [name, b] of w.blocks) if (rec.blocks.get(name) !== b) problems.push(`filesystem on ${name}: ${rec.blocks.get(name)} blocks, expected ${b}`);
  }
  const wantFiles = want.flatMap((w) => w.files).map((f) => f.replace(`/pc/${round}/`, './'));
  problems.push(...diff('files on the state disk', rec.files.filter((f) => f.split('/').length > 2), wantFiles));
  return problems;
}

/** Nothing of any run left: no dm, loop, zram, mount, directory or file; the images unchanged. */
function checkClean(rec: KernelRecord, base: KernelRecord, shaFile: string, wantSha: Record<string, string>): string[] {
  const leaks: string[] = [];
  for (const name of rec.dm.keys()) leaks.push(`dm device ${name} left`);
  for (const l of rec.loops) leaks.push(`loop device on ${l} left`);
  for (const z of rec.zram) if (!base.zram.includes(z)) leaks.push(`zram device ${z} left`);
  for (const m of rec.allMounts) if (!base.allMounts.includes(m)) leaks.push(`mount ${m} left`);
  for (const d of rec.runflow) if (d !== '/run/flow') leaks.push(`directory ${d} left`);
  for (const f of rec.files) if (f.split('/').length > 2) leaks.push(`file ${f} left on the state disk`);
  const got = Object.fromEntries((read(shaFile) ?? '').split('\n').filter(Boolean).map((l) => l.split(/\s+/).reverse() as [string, string]));
  for (const [name, sum] of Object.entries(wantSha)) if (got[name] !== sum) leaks.push(`image ${name} changed (sha256 ${got[name] ?? 'missing'})`);
  return leaks;
}

export function analyseRound(opts: {
  round: string;
  how: 'resume' | 'rollback';
  dir: string;
  plan: PlannedRun[];
  enumerated: Record<Workflow, number>;
  imageSha: Record<string, string>;
}): RoundResult {
  const { round, how, dir, plan } = opts;
  const out = join(dir, 'out');
  const rec = join(dir, 'rec');
  const res: RoundResult = {
    round,
    how,
    workflows: { 'snapshot-image': newTally(opts.enumerated['snapshot-image']), 'delayed-device': newTally(opts.enumerated['delayed-device']), 'loop-mount': newTally(opts.enumerated['loop-mount']) },
    mutants: {},
    general: newTally(0),
    harness: [],
  };
  for (const r of plan) if (r.mutant && !res.mutants[r.mutant]) res.mutants[r.mutant] = newTally(0);
  const tallyOf = (fs: Fs, wf: Workflow | undefined): Tally | undefined => (fs === 'main' ? (wf ? res.workflows[wf] : undefined) : res.mutants[fs]);
  const fatal = read(join(dir, 'fatal'));
  if (fatal) res.harness.push(`guest: ${fatal.trim()}`);

  // the runs as they were when the power went
  const ids = (read(join(rec, 'ids')) ?? '').split('\n').filter(Boolean).map((l) => {
    const [fs, id] = l.split(' ');
    return { fs: fs as Fs, id: id! };
  });
  if (!existsSync(join(rec, 'ids'))) res.harness.push('the recovery boot recorded no journal list');
  const lists = new Map<string, { id: string; status: string; workflow?: string }[]>();
  for (const fs of new Set(plan.map((r) => r.fs))) {
    const code = rc(join(rec, `${fs}.list.rc`));
    const l = json<{ id: string; status: string; workflow?: string }[]>(join(rec, `${fs}.list.json`));
    const v = fs === 'main' ? res.general.violations : res.mutants[fs]!.violations;
    if (code !== 0 || !l) v.push(`flow list (${fs}) exited ${code}: ${read(join(rec, `${fs}.list.err`))?.trim()}`);
    else for (const x of l) if (x.status === 'corrupt') v.push(`journal ${x.id} (${fs}) unreadable: ${x.status}: ${(x as { error?: string }).error}`);
    lists.set(fs, l ?? []);
  }

  // every journal reads back (log, show) and is recovered
  const infos: RunInfo[] = [];
  for (const { fs, id } of ids) {
    const events = json<Event[]>(join(rec, `${id}.log.json`));
    const started = events?.find((e) => e.type === 'RunStarted');
    const wf = (started?.workflow ?? lists.get(fs)?.find((x) => x.id === id)?.workflow) as Workflow | undefined;
    const info: RunInfo = { id, fs, workflow: wf, params: started?.params as Record<string, any> | undefined };
    infos.push(info);
    const t = tallyOf(fs, wf);
    if (!t) {
      res.general.violations.push(`journal ${id} (${fs}) names no workflow flow knows`);
      continue;
    }
    for (const cmd of ['log', 'show']) {
      const code = rc(join(rec, `${id}.${cmd}.rc`));
      if (code !== 0) t.violations.push(`flow ${cmd} ${id} (${fs}) exited ${code}: ${read(join(rec, `${id}.${cmd}.err`))?.trim().split('\n')[0]}`);
    }
    const code = rc(join(rec, `${id}.${how}.rc`));
    const text = read(join(rec, `${id}.${how}.out`)) ?? '';
    const want = how === 'resume' ? `run ${id}: done` : `run ${id}: rolled-back`;
    if (code !== 0 || !text.includes(want)) t.violations.push(`flow ${how} ${id} (${fs}) exited ${code}: ${text.trim().split('\n').slice(-3).join(' | ')}`);
    else if (how === 'resume') t.resumed++;
    else t.rolledBack++;
    if (how === 'resume') {
      const rb = rc(join(rec, `${id}.rollback.rc`));
      const rbText = read(join(rec, `${id}.rollback.out`)) ?? '';
      if (rb !== 0 || !rbText.includes(`run ${id}: rolled-back`)) t.violations.push(`flow rollback ${id} (${fs}) after the resume exited ${rb}: ${rbText.trim().split('\n').slice(-3).join(' | ')}`);
      else t.rolledBack++;
    }
  }

  // each run reached its point; everything it printed before the cut is in its journal
  const printed = new Set<string>();
  const unprinted = new Map<string, number>();
  for (const r of plan) {
    const t = tallyOf(r.fs, r.workflow)!;
    const halted = read(join(out, `${r.label}.halted`))?.trim();
    if (halted !== r.point) {
      res.harness.push(`${r.label} (${r.workflow} ${r.point}) never halted: exit ${read(join(out, `${r.label}.exit`))?.trim()}; ${read(join(out, `${r.label}.stderr`))?.trim().split('\n').slice(-2).join(' | ')}`);
      continue;
    }
    if (!r.mutant) t.pointsTried.add(r.point);
    else t.pointsTried.add(`${r.workflow} ${r.point}`);
    const lines = (read(join(out, `${r.label}.stdout`)) ?? '').split('\n').filter(Boolean);
    const printedId = /^[a-z2-9]{8}$/.test(lines[0] ?? '') ? lines[0]! : undefined;
    if (printedId) printed.add(printedId);
    if (!printedId) {
      if (lines.length) t.violations.push(`${r.label}: printed ${JSON.stringify(lines)} but no run id first`);
      else unprinted.set(`${r.fs} ${r.workflow}`, (unprinted.get(`${r.fs} ${r.workflow}`) ?? 0) + 1);
      continue;
    }
    if (!ids.some((x) => x.id === printedId && x.fs === r.fs)) {
      t.violations.push(`${r.label}: printed run id ${printedId}, but its journal is absent after the cut`);
      continue;
    }
    const events = json<Event[]>(join(rec, `${printedId}.log.json`));
    if (!events) continue; // already counted: log failed
    for (const l of lines.slice(1)) {
      const m = /^ {2}done {6}(\S+)/.exec(l);
      if (!m) {
        t.violations.push(`${r.label}: unexpected line before the cut: ${JSON.stringify(l)}`);
        continue;
      }
      if (!events.some((e) => e.type === 'StepSucceeded' && e.step === m[1])) t.violations.push(`${r.label} (${printedId}): printed "done ${m[1]}" before the cut, but the journal has no StepSucceeded for it (${events.length} events)`);
    }
  }

  // a run cut before it showed its id either left a journal (recovered above) or nothing at all
  for (const [key, n] of unprinted) {
    const [fs, wf] = key.split(' ') as [Fs, Workflow];
    const journals = infos.filter((i) => i.fs === fs && i.workflow === wf && !printed.has(i.id)).length;
    tallyOf(fs, wf)!.alreadyClean += Math.max(0, n - journals);
  }

  // the end state, exactly
  const base = readRecord(rec, 'base');
  const sha = join(rec, 'images.sha256');
  const blame = (msg: string): Tally => {
    const id = infos.find((i) => msg.includes(i.id));
    const fs = id?.fs ?? (['doc-file', 'doc-dir', 'log-append', 'state-dir'].find((m) => msg.includes(`/${m}/`) || msg.includes(`./${m}/`)) as Fs | undefined) ?? 'main';
    return tallyOf(fs, id?.workflow) ?? res.general;
  };
  if (how === 'resume') {
    const done = infos.filter((i) => i.params && existsSync(join(rec, `${i.id}.resume.rc`)) && rc(join(rec, `${i.id}.resume.rc`)) === 0);
    const problems = checkDone(readRecord(rec, 'recovered'), base, done, round);
    for (const p of problems) blame(p).violations.push(`after resume: ${p}`);
    for (const l of checkClean(readRecord(rec, 'rolledback'), base, sha, opts.imageSha)) blame(l).leaks.push(`after the rollback of the resumed runs: ${l}`);
  } else {
    for (const l of checkClean(readRecord(rec, 'recovered'), base, sha, opts.imageSha)) blame(l).leaks.push(`after rollback: ${l}`);
  }
  return res;
}
