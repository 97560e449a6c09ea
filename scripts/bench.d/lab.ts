/**
 * scripts/bench's kernel-lab section: inside one lab VM, `flow run delayed-device` +
 * `flow rollback` against a shell script of the same kernel commands, each command's start,
 * peak memory on the real kernel; on the host, the figures made of what the VM measured.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FLOOR, labStartup, labStartupFigures, startupCommands } from './startup.js';
import { type Figure, median, r2 } from './figure.js';
import { flowArgv, log, peakRss, sh } from './proc.js';
import { parseRunFile } from '../../journal/run-log.js';

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
export function lab(repo: string, work: string, runs: number): void {
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
  const floor = [process.execPath, path.join(path.dirname(process.argv[1]!), 'floors.mjs'), 'bundle', path.join(repo, 'dist/bin/chunks/program.cjs')];
  const startup = labStartup(repo, runs, startupCommands(stateDir, vid, vid, '/tmp/verbose.img'), env, floor);
  const result = { startup, runs, flowMs, shellMs, nodeMs: nodeMs.slice(1), versionMs: versionMs.slice(1), fullMs: fullMs.slice(1), rssMb: rss, commands: { count: commands.length, totalMs: commands.reduce((a, c) => a + c.durationMs, 0), perTool, events, journal, shellCount: LAB_SCRIPT.split('\n').filter((l) => /^[a-z]/.test(l) && !l.startsWith('set ') && !l.startsWith('f=')).length }, kernel: sh(['uname', '-r']).trim(), cpus: cpus().length };
  writeFileSync(path.join(work, 'lab.json'), JSON.stringify(result, null, 2));
  process.stdout.write(JSON.stringify(result) + '\n');
}

export function labFigures(repo: string, work: string, bundle: string, runs: number): Figure[] {
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
  // the bound: what flow's design pays whatever its own code does (two processes that load the
  // full CLI, the commands it runs, its durable writes), each measured in this VM
  const starts = 2 * res.startup.ms[FLOOR]!.wall;
  const writes = c.events * c.journal.flow.p50;
  const bound = starts + c.totalMs + writes;
  return [
    { section: 'kernel lab', name: 'flow run delayed-device --delay 0 + flow rollback', value: r2(flow), unit: 'ms', baseline: { name: 'shell script, same kernel commands', value: r2(shell) }, ratio: r2(flow / shell), target: '≤ 1.3x', met: flow / shell <= 1.3, note: `median of ${res.flowMs.length}; kernel ${res.kernel}; two flow processes start in it; ${r2(flow - bound)} ms (${r2(flow / bound)}x) above the bound below` },
    { section: 'kernel lab', name: 'the bound under it: two starts of the cached full CLI (the floor, none of it run) + the commands flow runs + its durable writes', value: r2(bound), unit: 'ms', baseline: { name: 'shell script, same kernel commands', value: r2(shell) }, ratio: r2(bound / shell), target: '—', note: `the floor twice ${Math.round(starts)} ms, the ${c.count} commands ${Math.round(c.totalMs)} ms, ${c.events} durable writes at p50 ${Math.round(writes)} ms; each measured in this VM` },
    { section: 'kernel lab', name: 'the same, less two start-ups of the full CLI (`flow workflows`)', value: r2(net), unit: 'ms', baseline: { name: 'shell script, same kernel commands', value: r2(shell) }, ratio: r2(net / shell), target: '—', note: 'what the run and the rollback cost once node and the CLI are loaded' },
    { section: 'kernel lab', name: 'commands flow executes in run + rollback (--verbose, one pair)', value: c.count, unit: 'commands', baseline: { name: 'commands in the shell script', value: c.shellCount }, ratio: r2(c.count / c.shellCount), target: '—', note: `their durations sum to ${Math.round(c.totalMs)} ms (shell script in all: ${Math.round(shell)} ms); ${tools}` },
    { section: 'kernel lab', name: 'durable journal writes in run + rollback (in the VM, state disk)', value: c.events, unit: 'events', target: '—', note: `one durable event write there: p50 ${r2(c.journal.flow.p50)} ms, p99 ${r2(c.journal.flow.p99)} ms (bare write+fsync p50 ${r2(c.journal.bare.p50)} ms): ~${Math.round(c.events * c.journal.flow.p50)} ms in all at p50` },
    { section: 'kernel lab', name: 'flow --version (in the VM)', value: r2(version), unit: 'ms', baseline: { name: 'node -e 0 (in the VM)', value: r2(node) }, ratio: r2(version / node), target: '—' },
    { section: 'kernel lab', name: 'flow workflows, the full CLI (in the VM)', value: r2(full), unit: 'ms', baseline: { name: 'node -e 0 (in the VM)', value: r2(node) }, ratio: r2(full / node), target: '—' },
    { section: 'kernel lab', name: 'peak RSS of flow run / rollback (real kernel)', value: Math.max(...res.rssMb), unit: 'MB', target: '< 100 MB', met: Math.max(...res.rssMb) < 100, note: `all: ${res.rssMb.join(', ')} MB` },
    ...labStartupFigures(res.startup),
  ];
}
