/**
 * Helpers for the end-to-end lab tests: the built CLI on the real kernel, real tools, and
 * what the host holds (loops, dm, zram, mounts). A run goes through the shipped binary,
 * or through the test entry when it sets a test-only switch (FLOW_CRASH_AT, ...).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setsTestSwitch } from '../../src/testing/switches.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The shipped binary: no test switch reaches it. */
export const MAIN = join(ROOT, 'dist/bin/flow.js');
/** The test entry: the same command line with the test-only switches (src/testing/). */
export const TEST_ENTRY = join(ROOT, 'dist/test/flow.js');

/** The CLI for an environment: the test entry when it sets a test switch, else the shipped binary. */
export function cliFor(env: NodeJS.ProcessEnv): string {
  return setsTestSwitch(env) ? TEST_ENTRY : MAIN;
}

export interface Result {
  code: number | null;
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a program (no shell); throws with its output unless it exits 0 (or `ok` lists the code). */
export function sh(argv: string[], opts: { ok?: number[]; input?: string } = {}): Result {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 240_000, input: opts.input, env: { ...process.env, LC_ALL: 'C' } });
  const res = { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!(opts.ok ?? [0]).includes(r.status ?? -1)) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${res.stderr}${res.stdout}`);
  return res;
}

/** A partition table as `sfdisk --json` reads it, without the node names (they name the file). */
export interface PartitionTableJson {
  id: string;
  label: string;
  partitions: { start: number; size: number; type: string }[];
}

/** The partition table of the image `file` (`sfdisk --json`), without the node names. */
export function partitionTable(file: string): PartitionTableJson {
  const t = (JSON.parse(sh(['sfdisk', '--json', file]).stdout) as { partitiontable: PartitionTableJson }).partitiontable;
  return { id: t.id, label: t.label, partitions: t.partitions.map(({ start, size, type }) => ({ start, size, type })) };
}

/** A temp sandbox: state dir, run dir (created, so what flow makes under it can be checked), files. */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'flow-lab-wf-'));
  readonly stateDir = join(this.dir, 'state');
  readonly runDir = join(this.dir, 'run');
  /** flows started with `start` */
  private readonly children: FlowChild[] = [];
  constructor() {
    mkdirSync(this.runDir);
  }

  /** Waits until every flow started with `start` has ended (a test that failed half-way may leave one paused). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.children.map((c) => c.done));
  }

  /** The built CLI on the real kernel (`extra`: e.g. the test-only FLOW_CRASH_AT, then through the test entry). */
  flow(args: string[], extra: Record<string, string> = {}): Result {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8', FLOW_STATE_DIR: this.stateDir, FLOW_RUN_DIR: this.runDir, ...extra };
    const r = spawnSync(process.execPath, [cliFor(env), ...args], { cwd: this.dir, env, encoding: 'utf8', timeout: 240_000 });
    return { code: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /**
   * The built CLI as a child process that runs alongside others (what `flow` started by
   * several people or jobs at once looks like): its output so far, and its end.
   */
  start(args: string[], extra: Record<string, string> = {}): FlowChild {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8', FLOW_STATE_DIR: this.stateDir, FLOW_RUN_DIR: this.runDir, ...extra };
    const child = spawn(process.execPath, [cliFor(env), ...args], { cwd: this.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
    const done = new Promise<Result>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    });
    const fc: FlowChild = {
      args,
      done,
      get stdout() {
        return stdout;
      },
      get stderr() {
        return stderr;
      },
      get exited() {
        return child.exitCode !== null || child.signalCode !== null;
      },
      async waitFor(re: RegExp, what: 'stdout' | 'stderr' = 'stdout', timeoutMs = 300_000): Promise<void> {
        const t0 = Date.now();
        while (!re.test(what === 'stdout' ? stdout : stderr)) {
          if (child.exitCode !== null || child.signalCode !== null) throw new Error(`flow ${args.join(' ')} ended (exit ${child.exitCode ?? child.signalCode}) before ${re}:\n${stdout}\n${stderr}`);
          if (Date.now() - t0 > timeoutMs) throw new Error(`flow ${args.join(' ')}: no ${re} after ${timeoutMs} ms:\n${stdout}\n${stderr}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
    };
    this.children.push(fc);
    return fc;
  }

  /** `flow run ... --json`: exit 0 expected; the result object. */
  run(workflow: string, args: string[]): RunJson {
    const r = this.flow(['run', workflow, ...args, '--json']);
    if (r.code !== 0) throw new Error(`flow run ${workflow} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
  }

  rollback(id: string): RunJson {
    const r = this.flow(['rollback', id, '--json']);
    if (r.code !== 0) throw new Error(`flow rollback ${id} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
  }

  /** Builds a Pi-like image with scripts/make-pi-image; returns its path and partition 2. */
  piImage(name: string, sizeMib = 128, rootBlockSize = 4096): { path: string; p2: { start: number; sectors: number } } {
    const path = join(this.dir, name);
    const out = sh([join(ROOT, 'scripts/make-pi-image'), path, String(sizeMib), String(rootBlockSize)]).stdout;
    const m = /^p2 (\d+) (\d+)$/m.exec(out)!;
    return { path, p2: { start: Number(m[1]), sectors: Number(m[2]) } };
  }

  runDirEntries(): string[] {
    return readdirSync(this.runDir);
  }
}

/** A flow process started with Sandbox.start. */
export interface FlowChild {
  readonly args: string[];
  /** resolves when it exits (killed after 10 min) */
  readonly done: Promise<Result>;
  readonly stdout: string;
  readonly stderr: string;
  readonly exited: boolean;
  /** resolves once its output matches `re`; throws if it exits first */
  waitFor(re: RegExp, what?: 'stdout' | 'stderr', timeoutMs?: number): Promise<void>;
}

/** The JSON object `flow run/resume/rollback --json` prints last. */
export function lastJson(r: Result): RunJson {
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as RunJson;
}

export interface RunJson {
  id: string;
  status: string;
  outputs: Record<string, string>;
  steps: { name: string; status: string; outputs?: Record<string, unknown> }[];
}

/** sha256 of a file, streamed. */
export async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** What the host holds, to compare before and after (only objects a test could have made). */
export interface HostObjects {
  loops: string[];
  dm: string[];
  zram: string[];
  mounts: string[];
}

export function hostObjects(): HostObjects {
  const loops = (JSON.parse(sh(['losetup', '-J', '-l', '-O', 'NAME,BACK-FILE']).stdout || '{"loopdevices":[]}') as { loopdevices: { name: string; 'back-file': string }[] }).loopdevices
    .map((l) => `${l.name} ${l['back-file']}`)
    .sort();
  const dm = sh(['dmsetup', 'info', '-c', '--noheadings', '--separator', ';', '-o', 'name,uuid']).stdout
    .split('\n')
    .filter((l) => l.includes(';'))
    .sort();
  const zram = readdirSync('/sys/block').filter((n) => /^zram\d+$/.test(n)).sort();
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ').slice(2, 5).join(' '))
    .sort();
  return { loops, dm, zram, mounts };
}

/** "major:minor" of a block device node, from sysfs. */
export function majmin(node: string): string {
  const name = realpathSync(node).replace(/^\/dev\//, '');
  return readFileSync(`/sys/class/block/${name}/dev`, 'utf8').trim();
}

/** `dmsetup table NAME` lines, trimmed (dmsetup ends a `zero` line with a space). */
export function dmTable(name: string): string[] {
  return sh(['dmsetup', 'table', name]).stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The mountinfo entry whose mount point is `target`, as [majmin, options, fstype]. */
export function mountOf(target: string): { majmin: string; options: string[]; fstype: string } | undefined {
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = l.split(' ');
    if (f[4] !== target) continue;
    const sep = f.indexOf('-');
    return { majmin: f[2]!, options: [...f[5]!.split(','), ...(f[sep + 3] ?? '').split(',')], fstype: f[sep + 1]! };
  }
  return undefined;
}
