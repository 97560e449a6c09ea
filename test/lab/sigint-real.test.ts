/**
 * Ctrl-C on the real kernel: the terminal sends SIGINT to flow's whole process group
 * while a kernel command runs. The command must finish (a mount(8) killed after its
 * mount(2) took effect would be journaled "failed" although the mount exists), flow stops
 * after that step with exit 130, and rollback leaves nothing. Lab only:
 *   scripts/lab run -q -- npx vitest run --project lab
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { requireLab } from './lab-env.js';
import { hostObjects, MAIN, Sandbox } from './real-host.js';

requireLab();

/** Children of `pid` whose command name is `comm`. */
function childrenNamed(pid: number, comm: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && name === comm) out.push(Number(p));
    } catch {
      // the process is gone
    }
  }
  return out;
}

it('SIGINT to the process group while mount(8) runs: mount completes, exit 130, rollback leaves nothing', async () => {
  const sb = new Sandbox();
  const before = hostObjects();
  let id = '';
  try {
    const file = join(sb.dir, 'slow.img');
    // reads through a 300 ms delay: mounting takes a few seconds
    const args = ['run', 'delayed-device', '--file', file, '--size', '32M', '--read-delay', '300', '--write-delay', '0', '--no-sync'];
    // detached: flow leads its own process group, as a shell job in a terminal does
    const child = spawn(process.execPath, [MAIN, ...args], {
      cwd: sb.dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, FLOW_STATE_DIR: sb.stateDir, FLOW_RUN_DIR: sb.runDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const until = Date.now() + 120_000;
    while (childrenNamed(child.pid!, 'mount').length === 0) {
      if (Date.now() > until || child.exitCode !== null) throw new Error(`mount(8) never ran:\n${stdout}\n${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    process.kill(-child.pid!, 'SIGINT');
    const code = await exited;
    id = stdout.split('\n')[0]!.trim();
    expect(stderr).toContain('SIGINT received');
    expect(code, `${stdout}\n${stderr}`).toBe(130);
    expect(stdout).toMatch(/done\s+mount/);
    expect(stdout).not.toMatch(/FAILED/);

    const back = sb.flow(['rollback', id]);
    expect(back.code, back.stderr).toBe(0);
    id = '';
    expect(hostObjects()).toEqual(before);
    expect(sb.runDirEntries()).toEqual([]);
    expect(readdirSync(sb.dir)).not.toContain('slow.img');
  } finally {
    if (id) sb.flow(['rollback', id]);
    if (!hostObjects().mounts.some((m) => m.includes(sb.dir))) rmSync(sb.dir, { recursive: true, force: true });
  }
});
