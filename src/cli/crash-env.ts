/**
 * Test-only switch: FLOW_CRASH_AT=<point> makes flow SIGKILL itself at that named point
 * (a real abrupt exit: no finally blocks, no exit handlers). FLOW_CRASH_AT=list prints
 * every point reached to stderr instead.
 */
import type { CrashHook } from '../../journal/durability.js';

export function crashHookFromEnv(env: NodeJS.ProcessEnv = process.env): CrashHook | undefined {
  const at = env.FLOW_CRASH_AT;
  if (!at) return undefined;
  if (at === 'list') return (point) => void process.stderr.write(`crash-point ${point}\n`);
  return (point) => {
    if (point === at) process.kill(process.pid, 'SIGKILL');
  };
}
