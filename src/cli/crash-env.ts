/**
 * Test-only switches (never set them in production):
 *   FLOW_CRASH_AT=<point>   SIGKILL this process at that named point (a real abrupt exit:
 *                           no finally blocks, no exit handlers)
 *   FLOW_CRASH_AT=list      print every point reached to stderr
 *   FLOW_PAUSE_AT=<point>:<ms>  block for ms at that point (to deliver a signal mid-run)
 *   FLOW_HALT_AT=<point>    at that point write the file FLOW_HALT_MARKER (default
 *                           $FLOW_LAB_SHARE/flow-halted.<pid>) holding the point, then block
 *                           forever: the power-cut tier cuts the VM once every run halted
 *   FLOW_DISABLE_SYNC=<call>[,<call>]  skip these journal sync calls (journal/durability.ts
 *                           SYNC_CALLS): the fsync mutation test of the power-cut tier
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SYNC_CALLS, type CrashHook, type SyncCall } from '../../journal/durability.js';

export function crashHookFromEnv(env: NodeJS.ProcessEnv = process.env): CrashHook | undefined {
  const at = env.FLOW_CRASH_AT;
  const pause = /^(.+):(\d+)$/.exec(env.FLOW_PAUSE_AT ?? '');
  const halt = env.FLOW_HALT_AT;
  if (!at && !pause && !halt) return undefined;
  return (point) => {
    if (at === 'list') process.stderr.write(`crash-point ${point}\n`);
    if (point === at) process.kill(process.pid, 'SIGKILL');
    if (pause && point === pause[1]) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(pause[2]));
    if (point === halt) haltForever(point, env);
  };
}

/** Everything printed so far is written (stdout to a file or pipe is synchronous here); then the marker; then nothing ever again. */
function haltForever(point: string, env: NodeJS.ProcessEnv): never {
  const marker = env.FLOW_HALT_MARKER || path.join(env.FLOW_LAB_SHARE || tmpdir(), `flow-halted.${process.pid}`);
  writeFileSync(marker, `${point}\n`);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(cell, 0, 0);
}

/** FLOW_DISABLE_SYNC: the journal sync calls to skip; an unknown name is refused (a typo must not pass as a mutant). */
export function disabledSyncsFromEnv(env: NodeJS.ProcessEnv = process.env): ReadonlySet<SyncCall> | undefined {
  const raw = env.FLOW_DISABLE_SYNC;
  if (!raw) return undefined;
  const names = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!(SYNC_CALLS as readonly string[]).includes(n)) throw new Error(`FLOW_DISABLE_SYNC: unknown sync call ${JSON.stringify(n)} (known: ${SYNC_CALLS.join(', ')})`);
  return new Set(names as SyncCall[]);
}
