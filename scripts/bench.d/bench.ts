/**
 * scripts/bench's driver (run from an esbuild bundle; see scripts/bench). Every figure is a
 * ratio to a baseline measured in the same invocation, from medians of several runs:
 *   host <repo> <work> <out> <runs> <lab:0|1|only>   everything, then the table, JSON and markdown
 *   lab <repo> <work> <runs>                    (inside the kernel lab VM) the lab figures
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { hostStartup, startupCommands } from './startup.js';
import { journalSection } from './journal-figures.js';
import { lab, labFigures } from './lab.js';
import { type Figure, median, r2 } from './figure.js';
import { flowArgv, log, peakRss, sh, testFlowArgv } from './proc.js';

/** hyperfine, no shell: median seconds of each command. */
function hyperfine(work: string, runs: number, commands: Record<string, string>): Record<string, number> {
  const json = path.join(work, `hyperfine-${Date.now()}.json`);
  const names = Object.keys(commands);
  const argv = ['hyperfine', '-N', '--style', 'none', '--warmup', '3', '--runs', String(runs), '--export-json', json];
  for (const n of names) argv.push('--command-name', n, commands[n]!);
  sh(argv);
  const res = JSON.parse(readFileSync(json, 'utf8')) as { results: { command: string; median: number; user: number; system: number }[] };
  for (const r of res.results) cpu[r.command] = r.user + r.system;
  return Object.fromEntries(res.results.map((r) => [r.command, r.median]));
}

/** Mean CPU seconds (user + system) of the commands hyperfine last measured: steadier than wall time on a busy host. */
const cpu: Record<string, number> = {};

/** Real run documents to clone: one done, one rolled back, made by `flow run` on the fake kernel. */
function templates(repo: string, work: string): string[] {
  const dir = path.join(work, 'templates');
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, FLOW_FAKE_KERNEL: path.join(dir, 'kernel.json'), FLOW_STATE_DIR: path.join(dir, 'state'), FLOW_RUN_DIR: path.join(dir, 'run') };
  const ids: string[] = [];
  for (const n of [1, 2]) {
    const outp = sh(testFlowArgv(repo, 'run', 'delayed-device', '--file', path.join(dir, `d${n}.img`), '--size', '64M', '--delay', '0', '--mountpoint', path.join(dir, `mnt${n}`)), { env });
    ids.push(outp.split('\n')[0]!.trim());
  }
  sh(testFlowArgv(repo, 'rollback', ids[1]!), { env });
  return ids.map((id) => path.join(dir, 'state', 'runs', `${id}.json`));
}

const LIST_FLOOR_100 = 'floor of a list (100 runs): index parsed, runs/ read, each log lstat-ed, a line each';
const LIST_FLOOR_10K = 'floor of a list (10,000 runs)';

/** The 10,000-run list's figure, with how far it is from the floor that bounds it (wall ms and CPU ms by command name). */
function listFigure(f: Figure, wall: (n: string) => number, cpuMs: (n: string) => number): Figure {
  const ten = 'flow list (10,000 runs)';
  const floorRatio = wall(LIST_FLOOR_10K) / wall(LIST_FLOOR_100);
  const bound = `the floor of the same job in bare node (below): ${r2(floorRatio)}x wall, ${r2(cpuMs(LIST_FLOOR_10K) / cpuMs(LIST_FLOOR_100))}x CPU; flow is ${r2(wall(ten) - wall(LIST_FLOOR_10K))} ms wall (${r2(cpuMs(ten) - cpuMs(LIST_FLOOR_10K))} ms CPU) above it at 10,000 runs`;
  return { ...f, note: `${bound}; ${f.note}` };
}

function startupAndScale(repo: string, work: string, tools: string, runs: number, tpl: string[]): Figure[] {
  const floors = path.join(path.dirname(tools), 'floors.mjs');
  const states: Record<number, string> = {};
  for (const n of [100, 10_000]) {
    const dir = path.join(work, `state-${n}`);
    log(`generating ${n} run documents`);
    sh([process.execPath, tools, 'gen', dir, String(n), ...tpl]);
    // the first list builds the index; check it lists every run and none is corrupt
    const listed = JSON.parse(sh(flowArgv(repo, '--state-dir', dir, 'list', '--json'))) as { status: string }[];
    if (listed.length !== n || listed.some((r) => r.status === 'corrupt')) throw new Error(`flow list of ${dir}: ${listed.length} runs, expected ${n} readable`);
    states[n] = dir;
  }
  const flow = path.join(repo, 'dist/bin/flow.js');
  log(`start-up and scale: hyperfine, ${runs} runs each`);
  const m = hyperfine(work, runs, {
    'node -e 0': `${process.execPath} -e 0`,
    'flow --version': `${process.execPath} ${flow} --version`,
    'flow list (100 runs)': `${process.execPath} ${flow} --state-dir ${states[100]} list`,
    'flow list (10,000 runs)': `${process.execPath} ${flow} --state-dir ${states[10_000]} list`,
    'flow workflows (full CLI)': `${process.execPath} ${flow} workflows`,
    [LIST_FLOOR_100]: `${process.execPath} ${floors} list ${states[100]}`,
    [LIST_FLOOR_10K]: `${process.execPath} ${floors} list ${states[10_000]}`,
  });
  const node = m['node -e 0']!;
  const ms = (s: number) => r2(s * 1000);
  const fig = (name: string, base: string, target: number, section: string, note?: string): Figure => {
    const v = m[name]!;
    const b = m[base]!;
    const cpuNote = `CPU time (user+sys, mean) ${ms(cpu[name]!)} ms vs ${ms(cpu[base]!)} ms: ${r2(cpu[name]! / cpu[base]!)}x`;
    return { section, name, value: ms(v), unit: 'ms', baseline: { name: base, value: ms(b) }, ratio: r2(v / b), target: `≤ ${target}x`, met: v / b <= target, note: note ? `${note}; ${cpuNote}` : cpuNote };
  };
  return [
    fig('flow --version', 'node -e 0', 1.6, 'start-up'),
    fig('flow list (100 runs)', 'node -e 0', 1.6, 'start-up'),
    { ...fig('flow workflows (full CLI)', 'node -e 0', Infinity, 'start-up', 'for comparison: a command that loads commander and everything'), target: '—', met: undefined },
    listFigure(fig('flow list (10,000 runs)', 'flow list (100 runs)', 2, 'scale'), (n) => ms(m[n]!), (n) => ms(cpu[n]!)),
    { ...fig(LIST_FLOOR_10K, LIST_FLOOR_100, 2, 'scale', 'the bound under flow list: floors.ts list, bare node'), target: '—', met: undefined },
  ].map((f) => (f.baseline && f.baseline.name === 'node -e 0' ? { ...f, baseline: { name: 'node -e 0', value: ms(node) } } : f));
}

/** Each command's start (startup.ts) on the 100-run state directory startupAndScale made. */
function everyCommand(repo: string, work: string, runs: number): Figure[] {
  const dir = path.join(work, 'state-100');
  const listed = JSON.parse(sh(flowArgv(repo, '--state-dir', dir, 'list', '--json'))) as { id: string; status: string }[];
  const done = listed.find((r) => r.status === 'done')?.id;
  const gone = listed.find((r) => /rolled/.test(r.status))?.id;
  if (!done || !gone) throw new Error(`${dir}: no done and no rolled-back run to start resume/rollback on`);
  const img = path.join(work, 'plan.img');
  sh(['truncate', '-s', '16M', img]);
  sh(['mkfs.ext4', '-q', '-F', img]);
  log(`start-up of every command: hyperfine, ${runs} runs each`);
  const floor = [process.execPath, path.join(path.dirname(process.argv[1]!), 'floors.mjs'), 'bundle', path.join(repo, 'dist/bin/chunks/program.cjs')];
  return hostStartup(repo, work, runs, startupCommands(dir, done, gone, img), floor);
}

function memoryHost(repo: string, work: string, reps: number): Figure[] {
  log('peak memory of flow run / rollback (fake kernel)');
  const dir = path.join(work, 'memory');
  mkdirSync(dir, { recursive: true });
  const env = { ...process.env, FLOW_FAKE_KERNEL: path.join(dir, 'kernel.json'), FLOW_STATE_DIR: path.join(dir, 'state'), FLOW_RUN_DIR: path.join(dir, 'run') };
  const run: number[] = [];
  const back: number[] = [];
  const node = Array.from({ length: reps }, () => peakRss([process.execPath, '-e', '0'], env).mb);
  for (let i = 0; i < reps; i++) {
    const r = peakRss(testFlowArgv(repo, 'run', 'delayed-device', '--file', path.join(dir, `d${i}.img`), '--size', '64M', '--delay', '0', '--mountpoint', path.join(dir, `m${i}`)), env);
    run.push(r.mb);
    back.push(peakRss(testFlowArgv(repo, 'rollback', r.stdout.split('\n')[0]!.trim()), env).mb);
  }
  const note = `max of ${reps}: run ${Math.max(...run)} MB, rollback ${Math.max(...back)} MB; node -e 0: ${median(node)} MB`;
  return [
    { section: 'memory', name: 'peak RSS of flow run delayed-device (host, fake kernel)', value: median(run), unit: 'MB', baseline: { name: 'node -e 0', value: median(node) }, ratio: r2(median(run) / median(node)), target: '< 100 MB', met: Math.max(...run) < 100, note },
    { section: 'memory', name: 'peak RSS of flow rollback (host, fake kernel)', value: median(back), unit: 'MB', baseline: { name: 'node -e 0', value: median(node) }, ratio: r2(median(back) / median(node)), target: '< 100 MB', met: Math.max(...back) < 100 },
  ];
}


// ---- report --------------------------------------------------------------------------

function table(figs: Figure[]): string {
  const rows = figs.map((f) => [f.section, f.name, `${f.value} ${f.unit}`, f.baseline ? `${f.baseline.name}: ${f.baseline.value} ${f.unit}` : '', f.ratio !== undefined ? `${f.ratio}x` : '', f.target, f.met === undefined ? '' : f.met ? 'yes' : 'NO']);
  const head = ['section', 'figure', 'value', 'baseline (same invocation)', 'ratio', 'target', 'met'];
  const md = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
  const notes = figs.filter((f) => f.note).map((f) => `- ${f.name}: ${f.note}`);
  return [...md, '', ...notes].join('\n');
}

function machine(): Record<string, string> {
  const cpu = cpus()[0]?.model ?? '?';
  return {
    date: new Date().toISOString(),
    host: `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    kernel: sh(['uname', '-r']).trim(),
    node: process.version,
    hyperfine: sh(['hyperfine', '--version']).trim(),
    load: readFileSync('/proc/loadavg', 'utf8').trim(),
  };
}

function host(repo: string, work: string, outDir: string, runs: number, lab: string, only = ''): void {
  const withLab = lab !== '0';
  const hostToo = lab !== 'only';
  const tools = path.join(path.dirname(process.argv[1]!), 'tools.mjs');
  const figs: Figure[] = [];
  const missing: string[] = [];
  const wanted = (what: string) => !only || what.includes(only);
  const tpl = hostToo && (wanted('start-up and scale') || wanted('journal and fold')) ? templates(repo, work) : [];
  const step = (what: string, f: () => Figure[]) => {
    if (!wanted(what)) return void missing.push(`${what}: skipped (--only ${only})`);
    try {
      figs.push(...f());
    } catch (err) {
      log(`${what} failed: ${(err as Error).message}`);
      missing.push(`${what}: ${(err as Error).message.split('\n')[0]}`);
    }
  };
  if (hostToo) {
    step('start-up and scale', () => startupAndScale(repo, work, tools, runs, tpl));
    step('start-up of every command', () => everyCommand(repo, work, runs));
    step('journal and fold', () => journalSection(work, tpl, 5));
    step('memory', () => memoryHost(repo, work, 5));
  } else missing.push('host figures: skipped (--lab-only)');
  if (withLab) step('kernel lab', () => labFigures(repo, work, process.argv[1]!, 5));
  else missing.push('kernel lab: skipped (--no-lab)');
  const m = machine();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'bench.json'), JSON.stringify({ machine: m, figures: figs, missing }, null, 2) + '\n');
  const md = [`# flow bench, ${m.date}`, '', ...Object.entries(m).map(([k, v]) => `- ${k}: ${v}`), '', table(figs), ...(missing.length ? ['', 'Not measured:', ...missing.map((x) => `- ${x}`)] : [])].join('\n') + '\n';
  writeFileSync(path.join(outDir, 'bench.md'), md);
  process.stdout.write(md);
  log(`results: ${path.join(outDir, 'bench.json')} and bench.md`);
  if (missing.some((x) => !x.includes('skipped'))) process.exitCode = 1;
  if (existsSync(path.join(work, 'lab-raw.json'))) writeFileSync(path.join(outDir, 'lab-raw.json'), readFileSync(path.join(work, 'lab-raw.json')));
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'host') host(args[0]!, args[1]!, args[2]!, Number(args[3]), args[4]!, args[5]);
else if (mode === 'lab') lab(args[0]!, args[1]!, Number(args[2]));
else {
  process.stderr.write('usage: bench.mjs host <repo> <work> <out> <runs> <lab 0|1|only> | lab <repo> <work> <runs>\n');
  process.exitCode = 2;
}
