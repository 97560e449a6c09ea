/** What the bench's sections share to run commands: no shell, and flow's own invocations. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { r2 } from './figure.js';

export const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

export function sh(argv: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: opts.env ?? process.env, cwd: opts.cwd, input: opts.input, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return r.stdout;
}

/** A flow CLI invocation's argv: the shipped binary. */
export const flowArgv = (repo: string, ...args: string[]) => [process.execPath, path.join(repo, 'dist/bin/flow.js'), ...args];
/** The same through the test entry, the only one that has the fake kernel (FLOW_FAKE_KERNEL). */
export const testFlowArgv = (repo: string, ...args: string[]) => [process.execPath, path.join(repo, 'dist/test/flow.js'), ...args];

/** Peak RSS (KiB → MB) of a command, by GNU time. */
export function peakRss(argv: string[], env: NodeJS.ProcessEnv): { mb: number; stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`);
  const kb = Number(r.stderr.trim().split('\n').pop());
  return { mb: r2(kb / 1024), stdout: r.stdout };
}
