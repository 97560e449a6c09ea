/**
 * Start-up figures (issue #12): each command's start against `node -e 0`, measured in the
 * same invocation. On the host with hyperfine (median wall time, mean CPU time user+sys:
 * the steadier figure on a shared machine; the target is on CPU time); in the kernel lab
 * with GNU time (medians). The load average is printed beside them.
 *
 * "Start" is a whole invocation of a command that does no kernel work: help, a read-only
 * command, or the command refusing its input after everything it loads is loaded (`run`
 * without its required option, `resume`/`rollback` of a run that is done/rolled back).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type Figure, r2 } from './figure.js';
export type StartupFigure = Figure;

/**
 * The commands measured: name → flow's arguments. `done`: a finished run (only shown),
 * `gone`: a rolled-back one, which resume refuses and rollback reports, neither writing
 * (a resume of a done run made on the fake kernel would find its devices missing here).
 */
export function startupCommands(listDir: string, done: string, gone: string, planFile: string): Record<string, string[]> {
  return {
    'flow --version': ['--version'],
    'flow list (100 runs, index fresh)': ['--state-dir', listDir, 'list'],
    'flow list --json (100 runs)': ['--state-dir', listDir, 'list', '--json'],
    'flow workflows': ['workflows'],
    'flow show <id>': ['--state-dir', listDir, 'show', done],
    'flow plan loop-mount': ['plan', 'loop-mount', '--file', planFile],
    'flow run --help': ['run', '--help'],
    'flow run delayed-device (refused: no --file)': ['run', 'delayed-device'],
    'flow resume <rolled-back run> (refused)': ['--state-dir', listDir, 'resume', gone],
    'flow rollback <rolled-back run>': ['--state-dir', listDir, 'rollback', gone],
  };
}

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** The start-up floor's name: node reading and deserialising the cached full CLI, running none of it (floors.ts). */
export const FLOOR = 'floor: the cached full CLI read and deserialised, none of it run';
/** Commands that load the full CLI (the others are answered by dist/bin/flow.js and list-fast). */
const fullCli = (name: string) => !/^flow (--version|list)/.test(name);

/**
 * Host: hyperfine -N, every command, `node -e 0` and the start-up floor (`floor`: the argv of
 * floors.mjs bundle, which must exit 0) in one invocation.
 */
export function hostStartup(repo: string, work: string, runs: number, commands: Record<string, string[]>, floor: string[]): StartupFigure[] {
  const flow = path.join(repo, 'dist/bin/flow.js');
  const codes: Record<string, number | null> = {};
  for (const [n, a] of Object.entries(commands)) codes[n] = spawnSync(process.execPath, [flow, ...a], { stdio: 'ignore' }).status;
  const floorRun = spawnSync(floor[0]!, floor.slice(1), { encoding: 'utf8' });
  if (floorRun.status !== 0) throw new Error(`the start-up floor (${floor.join(' ')}) exited ${floorRun.status}: ${floorRun.stderr}`);
  const json = path.join(work, `startup-${Date.now()}.json`);
  const argv = ['-N', '-i', '--style', 'none', '--warmup', '3', '--runs', String(runs), '--export-json', json, '--command-name', 'node -e 0', `${process.execPath} -e 0`, '--command-name', FLOOR, floor.join(' ')];
  for (const [n, a] of Object.entries(commands)) argv.push('--command-name', n, [process.execPath, flow, ...a].join(' '));
  const before = loadavg();
  const r = spawnSync('hyperfine', argv, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hyperfine exited ${r.status}: ${r.stderr}`);
  const load = `load average ${before} before, ${loadavg()} after`;
  const res = JSON.parse(readFileSync(json, 'utf8')) as { results: { command: string; median: number; user: number; system: number }[] };
  const by = Object.fromEntries(res.results.map((x) => [x.command, { wall: x.median * 1000, cpu: (x.user + x.system) * 1000 }]));
  const node = by['node -e 0']!;
  const fl = by[FLOOR]!;
  const row = (n: string, note: string): StartupFigure => {
    const m = by[n]!;
    const cpuRatio = m.cpu / node.cpu;
    return { section: 'start-up', name: n, value: r2(m.cpu), unit: 'ms CPU', baseline: { name: 'node -e 0', value: r2(node.cpu) }, ratio: r2(cpuRatio), target: '≤ 1.4x CPU', met: cpuRatio <= 1.4, note: `wall (median) ${r2(m.wall)} ms vs ${r2(node.wall)} ms: ${r2(m.wall / node.wall)}x; ${note}${load}` };
  };
  return [
    { ...row(FLOOR, `the bound under every full-CLI command below (${floor.slice(1).join(' ')}); `), target: '—', met: undefined },
    ...Object.keys(commands).map((n) =>
      row(n, `exit ${codes[n]}; ${fullCli(n) ? `${r2(by[n]!.cpu - fl.cpu)} ms CPU above the floor (${r2(by[n]!.cpu / fl.cpu)}x it); ` : ''}`),
    ),
  ];
}

/** Lab (inside the VM): GNU time, `runs` invocations of each (one warm-up), medians; no hyperfine there. */
export function labStartup(repo: string, runs: number, commands: Record<string, string[]>, env: NodeJS.ProcessEnv, floor: string[]): { load: string; ms: Record<string, { wall: number; cpu: number }> } {
  const flow = path.join(repo, 'dist/bin/flow.js');
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const one = (argv: string[]) => {
    const r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S', ...argv], { encoding: 'utf8', env });
    const t = /TIME ([\d.]+) ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
    if (!t) throw new Error(`${argv.join(' ')}: no time in ${r.stderr.slice(-200)}`);
    return { wall: Number(t[1]) * 1000, cpu: (Number(t[2]) + Number(t[3])) * 1000 };
  };
  const floorRun = spawnSync(floor[0]!, floor.slice(1), { encoding: 'utf8', env });
  if (floorRun.status !== 0) throw new Error(`the start-up floor (${floor.join(' ')}) exited ${floorRun.status}: ${floorRun.stderr}`);
  const all: Record<string, string[]> = { 'node -e 0': [process.execPath, '-e', '0'], [FLOOR]: floor };
  for (const [n, a] of Object.entries(commands)) all[n] = [process.execPath, flow, ...a];
  const before = loadavg();
  const ms: Record<string, { wall: number; cpu: number }> = {};
  for (const [n, argv] of Object.entries(all)) {
    one(argv);
    const xs = Array.from({ length: runs }, () => one(argv));
    ms[n] = { wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) };
  }
  return { load: `${before} before, ${loadavg()} after`, ms };
}

/** The lab's start-up rows, from labStartup's result. */
export function labStartupFigures(s: { load: string; ms: Record<string, { wall: number; cpu: number }> }): StartupFigure[] {
  const node = s.ms['node -e 0']!;
  return Object.entries(s.ms)
    .filter(([n]) => n !== 'node -e 0')
    .map(([n, m]) => ({
      section: 'kernel lab',
      name: `${n} (in the VM)`,
      value: r2(m.wall),
      unit: 'ms',
      baseline: { name: 'node -e 0 (in the VM)', value: r2(node.wall) },
      ratio: r2(m.wall / node.wall),
      target: '—',
      note: `CPU (median) ${r2(m.cpu)} ms vs ${r2(node.cpu)} ms: ${r2(m.cpu / node.cpu)}x; guest load average ${s.load}`,
    }));
}
