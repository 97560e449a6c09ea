/**
 * scripts/bench's driver (run from an esbuild bundle; see scripts/bench). Every figure is a
 * ratio to a baseline measured in the same invocation, from medians of several runs:
 *   host <repo> <work> <out> <runs> <lab:0|1|only>   everything, then the table, JSON and markdown
 *   lab <repo> <work> <runs>                    (inside the kernel lab VM) the lab figures
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { hostStartup, labStartup, labStartupFigures, startupCommands } from './startup.js';
import { journalSection } from './journal-figures.js';
import { type Figure, median, r2 } from './figure.js';
import { parseRunFile } from '../../journal/run-log.js';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

function sh(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: opts.env ?? process.env, cwd: opts.cwd, input: opts.input, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}

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

/** A flow CLI invocation's argv: the shipped binary. */
const flowArgv = (repo: string, ...args: string[]) => [process.execPath, path.join(repo, 'dist/bin/flow.js'), ...args];
/** The same through the test entry, the only one that has the fake kernel (FLOW_FAKE_KERNEL). */
const testFlowArgv = (repo: string, ...args: string[]) => [process.execPath, path.join(repo, 'dist/test/flow.js'), ...args];

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

function startupAndScale(repo: string, work: string, tools: string, runs: number, tpl: string[]): Figure[] {
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
    fig('flow list (10,000 runs)', 'flow list (100 runs)', 3, 'scale'),
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
  return hostStartup(repo, work, runs, startupCommands(dir, done, gone, img));
}

/** Peak RSS (KiB → MB) of a command, by GNU time. */
function peakRss(argv: string[], env: NodeJS.ProcessEnv): { mb: number; stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const kb = Number(r.stderr.trim().split('\n').pop());
  return { mb: r2(kb / 1024), stdout: r.stdout };
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

// ---- the kernel lab ------------------------------------------------------------------

const LAB_SCRIPT = `set -eu
f=$1 name=$2 mnt=$3
truncate -s 64M -- "$f"
mkfs.ext4 -F -q -b 4096 -U "$(cat /proc/sys/kernel/random/uuid)" -- "$f"
loop=$(losetup --find --show -- "$f")
printf '0 %s delay %s 0 0\\n' $((64 * 2048)) "$loop" | dmsetup create "$name" -u "BENCH-$name"
mkdir -p -- "$mnt"
mount -o sync -- "/dev/mapper/$name" "$mnt"
umount -- "$mnt"
rmdir -- "$mnt"
dmsetup remove --retry -u "BENCH-$name"
losetup -d "$loop"
rm -- "$f"
`;

/** Inside the VM: flow run + rollback vs the same kernel commands in a shell script; start-up; peak memory. */
function lab(repo: string, work: string, runs: number): void {
  const stateDir = process.env.FLOW_BENCH_STATE ?? path.join(work, 'lab-state');
  const script = path.join(work, 'same-commands.sh');
  writeFileSync(script, LAB_SCRIPT);
  const env = { ...process.env, FLOW_STATE_DIR: stateDir };
  const time = (argv: string[]) => {
    const t = performance.now();
    const out = sh(argv, { env });
    return { ms: performance.now() - t, out };
  };
  const flowMs: number[] = [];
  const shellMs: number[] = [];
  const nodeMs: number[] = [];
  const versionMs: number[] = [];
  const fullMs: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    nodeMs.push(time([process.execPath, '-e', '0']).ms);
    versionMs.push(time(flowArgv(repo, '--version')).ms);
    fullMs.push(time(flowArgv(repo, 'workflows')).ms);
    const f = `/tmp/bench-${i}.img`;
    const mnt = `/tmp/bench-mnt-${i}`;
    const s = time(['bash', script, f, `bench-sh-${i}`, mnt]).ms;
    const r = time(flowArgv(repo, 'run', 'delayed-device', '--file', f, '--size', '64M', '--delay', '0', '--name', `bench-flow-${i}`, '--mountpoint', mnt));
    const b = time(flowArgv(repo, 'rollback', r.out.split('\n')[0]!.trim()));
    if (i === 0) continue; // warm-up: page cache, module loading
    shellMs.push(s);
    flowMs.push(r.ms + b.ms);
  }
  // where flow's time goes: one more run + rollback with --verbose (every command it executes, with its duration)
  const commands: { argv: string[]; durationMs: number }[] = [];
  const verbose = (args: string[]) => {
    const r = spawnSync(process.execPath, [path.join(repo, 'dist/bin/flow.js'), '--verbose', '--log-format', 'json', ...args], { encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`flow ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
    for (const l of r.stderr.split('\n')) if (l.startsWith('{') && JSON.parse(l).msg === 'command') commands.push(JSON.parse(l));
    return r.stdout;
  };
  const vid = verbose(['run', 'delayed-device', '--file', '/tmp/verbose.img', '--size', '64M', '--delay', '0', '--name', 'bench-verbose', '--mountpoint', '/tmp/verbose-mnt']).split('\n')[0]!.trim();
  verbose(['rollback', vid]);
  // the journal's share: its durable writes on this VM's state disk, and how many a run + rollback makes
  // the run's journal as flow reads it (format 2 is a log of JSON lines, not one document)
  const runFile = path.join(stateDir, 'runs', `${vid}.json`);
  const events = parseRunFile(readFileSync(runFile), vid, runFile).doc.events.length;
  const journal = JSON.parse(sh([process.execPath, path.join(path.dirname(process.argv[1]!), 'tools.mjs'), 'journal', path.join(stateDir, 'journal-bench'), '3', path.join(stateDir, 'runs', `${vid}.json`)])) as { flow: { p50: number; p99: number }; bare: { p50: number } };
  const perTool: Record<string, number> = {};
  for (const c of commands) perTool[c.argv[0]!] = (perTool[c.argv[0]!] ?? 0) + 1;
  // peak memory on the real kernel (separately: GNU time is not in the timed runs)
  for (let i = 0; i < 2; i++) {
    const r = peakRss(flowArgv(repo, 'run', 'delayed-device', '--file', `/tmp/mem-${i}.img`, '--size', '64M', '--delay', '0', '--name', `bench-mem-${i}`, '--mountpoint', `/tmp/mem-mnt-${i}`), env);
    rss.push(r.mb, peakRss(flowArgv(repo, 'rollback', r.stdout.split('\n')[0]!.trim()), env).mb);
  }
  // each command's start in the VM, on a run this VM made and rolled back
  const startup = labStartup(repo, runs, startupCommands(stateDir, vid, vid, '/tmp/verbose.img'), env);
  const result = { startup, runs, flowMs, shellMs, nodeMs: nodeMs.slice(1), versionMs: versionMs.slice(1), fullMs: fullMs.slice(1), rssMb: rss, commands: { count: commands.length, totalMs: commands.reduce((a, c) => a + c.durationMs, 0), perTool, events, journal, shellCount: LAB_SCRIPT.split('\n').filter((l) => /^[a-z]/.test(l) && !l.startsWith('set ') && !l.startsWith('f=')).length }, kernel: sh(['uname', '-r']).trim(), cpus: cpus().length };
  writeFileSync(path.join(work, 'lab.json'), JSON.stringify(result, null, 2));
  process.stdout.write(JSON.stringify(result) + '\n');
}

function labFigures(repo: string, work: string, bundle: string, runs: number): Figure[] {
  log(`kernel lab: one VM, ${runs} runs of flow run+rollback and of the same commands in a shell script`);
  const share = path.join(work, 'lab');
  mkdirSync(share, { recursive: true });
  const disk = path.join(work, 'lab-state.img');
  const t = performance.now();
  const r = spawnSync(
    path.join(repo, 'scripts/lab'),
    ['run', '-q', '--timeout', '2400', '--share', share, '--disk', disk, '--disk-size', '256M', '--disk-mount', '/var/lib/flow-bench', '--env', 'FLOW_BENCH_STATE=/var/lib/flow-bench', '--', process.execPath, bundle, 'lab', repo, share, String(runs)],
    { encoding: 'utf8', cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  log(`kernel lab took ${Math.round((performance.now() - t) / 1000)} s (exit ${r.status})`);
  if (r.status !== 0 || !existsSync(path.join(share, 'lab.json'))) throw new Error(`the kernel lab failed (exit ${r.status})`);
  const res = JSON.parse(readFileSync(path.join(share, 'lab.json'), 'utf8')) as { startup: Parameters<typeof labStartupFigures>[0]; flowMs: number[]; shellMs: number[]; nodeMs: number[]; versionMs: number[]; fullMs: number[]; rssMb: number[]; kernel: string; commands: { count: number; totalMs: number; perTool: Record<string, number>; shellCount: number; events: number; journal: { flow: { p50: number; p99: number }; bare: { p50: number } } } };
  writeFileSync(path.join(work, 'lab-raw.json'), JSON.stringify(res, null, 2));
  const flow = median(res.flowMs);
  const shell = median(res.shellMs);
  const version = median(res.versionMs);
  const full = median(res.fullMs);
  const node = median(res.nodeMs);
  const net = flow - 2 * full;
  const c = res.commands;
  const tools = Object.entries(c.perTool).map(([t, n]) => `${t} ×${n}`).join(', ');
  return [
    { section: 'kernel lab', name: 'flow run delayed-device --delay 0 + flow rollback', value: r2(flow), unit: 'ms', baseline: { name: 'shell script, same kernel commands', value: r2(shell) }, ratio: r2(flow / shell), target: '≤ 1.15x', met: flow / shell <= 1.15, note: `median of ${res.flowMs.length}; kernel ${res.kernel}; two flow processes start in it` },
    { section: 'kernel lab', name: 'the same, less two start-ups of the full CLI (`flow workflows`)', value: r2(net), unit: 'ms', baseline: { name: 'shell script, same kernel commands', value: r2(shell) }, ratio: r2(net / shell), target: '—', note: 'what the run and the rollback cost once node and the CLI are loaded' },
    { section: 'kernel lab', name: 'commands flow executes in run + rollback (--verbose, one pair)', value: c.count, unit: 'commands', baseline: { name: 'commands in the shell script', value: c.shellCount }, ratio: r2(c.count / c.shellCount), target: '—', note: `their durations sum to ${Math.round(c.totalMs)} ms (shell script in all: ${Math.round(shell)} ms); ${tools}` },
    { section: 'kernel lab', name: 'durable journal writes in run + rollback (in the VM, state disk)', value: c.events, unit: 'events', target: '—', note: `one durable event write there: p50 ${r2(c.journal.flow.p50)} ms, p99 ${r2(c.journal.flow.p99)} ms (bare write+fsync p50 ${r2(c.journal.bare.p50)} ms): ~${Math.round(c.events * c.journal.flow.p50)} ms in all at p50` },
    { section: 'kernel lab', name: 'flow --version (in the VM)', value: r2(version), unit: 'ms', baseline: { name: 'node -e 0 (in the VM)', value: r2(node) }, ratio: r2(version / node), target: '—' },
    { section: 'kernel lab', name: 'flow workflows, the full CLI (in the VM)', value: r2(full), unit: 'ms', baseline: { name: 'node -e 0 (in the VM)', value: r2(node) }, ratio: r2(full / node), target: '—' },
    { section: 'kernel lab', name: 'peak RSS of flow run / rollback (real kernel)', value: Math.max(...res.rssMb), unit: 'MB', target: '< 100 MB', met: Math.max(...res.rssMb) < 100, note: `all: ${res.rssMb.join(', ')} MB` },
    ...labStartupFigures(res.startup),
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
