/**
 * Test-only switches (never set them in production):
 *   FLOW_CRASH_AT=<point>   SIGKILL this process at that named point (a real abrupt exit:
 *                           no finally blocks, no exit handlers)
 *   FLOW_CRASH_AT=list      print every point reached to stderr
 *   FLOW_PAUSE_AT=<point>:<ms>  block for ms at that point (to deliver a signal mid-run)
 */
import type { CrashHook } from '../../journal/durability.js';

export function crashHookFromEnv(env: NodeJS.ProcessEnv = process.env): CrashHook | undefined {
  const at = env.FLOW_CRASH_AT;
  const pause = /^(.+):(\d+)$/.exec(env.FLOW_PAUSE_AT ?? '');
  if (!at && !pause) return undefined;
  return (point) => {
    if (at === 'list') process.stderr.write(`crash-point ${point}\n`);
    if (point === at) process.kill(process.pid, 'SIGKILL');
    if (pause && point === pause[1]) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(pause[2]));
  };
}
