/**
 * Test-only switches, read only by the test entry (src/testing/entry.ts, dist/test/flow.js;
 * the shipped dist/bin/flow.js contains none of this and ignores them all):
 *   FLOW_CRASH_AT=<point>   SIGKILL this process at that named point (a real abrupt exit:
 *                           no finally blocks, no exit handlers)
 *   FLOW_CRASH_AT=list      print every point reached to stderr ("crash-point P"), and after
 *                           a command-running point the command that then runs
 *                           ("crash-child P <program> <first argument>")
 *   FLOW_CRASH_CHILD=1      at a command-running point, wait until the step's command (the
 *                           first one that is not a query) has started, then kill: flow dies
 *                           while its child runs, and the child finishes on its own
 *   FLOW_CRASH_GROUP=1      with FLOW_CRASH_CHILD: SIGKILL the child's process group too
 *                           (the child runs in its own group, see exec.ts), then flow
 *   FLOW_PAUSE_AT=<point>:<ms>  block for ms at that point (to deliver a signal mid-run)
 *   FLOW_PAUSE_RELEASE=<file>   with FLOW_PAUSE_AT: print "crash-paused P" to stderr when
 *                           the pause begins, and end it as soon as <file> exists
 *   FLOW_HALT_AT=<point>    at that point write the file FLOW_HALT_MARKER (default
 *                           $FLOW_LAB_SHARE/flow-halted.<pid>) holding the point, then block
 *                           forever: the power-cut tier cuts the VM once every run halted
 *   FLOW_DISABLE_SYNC=<call>[,<call>]  skip these journal sync calls (journal/durability.ts
 *                           SYNC_CALLS): the fsync mutation test of the power-cut tier
 * Before a kill, one line "crash-kill P flow-alone|group child PID PROGRAM ARG|no-child"
 * goes to stderr, so a test knows what it killed.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SYNC_CALLS, type CrashHook, type SyncCall } from '../../journal/durability.js';
import { onCommandStarted, runningCommand, type RunningCommand } from '../kernel/exec.js';

/** Commands that only read (the steps' look-ups before and after their command). */
function isQuery(argv: readonly string[]): boolean {
  const [prog, sub] = argv;
  if (prog === 'dmsetup') return ['info', 'table', 'status', 'targets', 'version', 'ls', 'deps'].includes(sub ?? '');
  if (prog === 'losetup') return argv.some((a) => ['-J', '--json', '-l', '--list', '-a', '--all', '-j', '--associated'].includes(a));
  return prog === 'blkid' || prog === 'blockdev' || prog === 'findmnt';
}

function kill(point: string, group: boolean): never {
  const c = runningCommand();
  if (group && c) {
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  const child = c ? `child ${c.pid} ${c.argv[0]} ${c.argv[1] ?? ''}` : 'no-child';
  // stderr on a pipe or file is synchronous on Linux: the line is out before the kill
  process.stderr.write(`crash-kill ${point} ${group && c ? 'group' : 'flow-alone'} ${child}\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

export function crashHookFromEnv(env: NodeJS.ProcessEnv = process.env): CrashHook | undefined {
  const at = env.FLOW_CRASH_AT;
  const pause = /^(.+):(\d+)$/.exec(env.FLOW_PAUSE_AT ?? '');
  const halt = env.FLOW_HALT_AT;
  if (!at && !pause && !halt) return undefined;
  const waitForChild = env.FLOW_CRASH_CHILD === '1';
  const group = env.FLOW_CRASH_GROUP === '1';
  // a command-running point whose command has not started yet
  let pending: string | undefined;
  if (at === 'list' || waitForChild) {
    onCommandStarted((c: RunningCommand) => {
      if (!pending || isQuery(c.argv)) return;
      const p = pending;
      pending = undefined;
      if (at === 'list') process.stderr.write(`crash-child ${p} ${c.argv[0]} ${c.argv[1] ?? ''}\n`);
      else kill(p, group);
    });
  }
  return (point) => {
    if (at === 'list') {
      process.stderr.write(`crash-point ${point}\n`);
      pending = point.endsWith(':command-running') && !runningCommand() ? point : undefined;
      if (point.endsWith(':command-running') && runningCommand()) {
        const c = runningCommand()!;
        process.stderr.write(`crash-child ${point} ${c.argv[0]} ${c.argv[1] ?? ''}\n`);
      }
    }
    if (pending && at !== 'list') {
      // the step ended without starting a command: the test asked for a child that never ran
      process.stderr.write(`crash-no-child ${pending}\n`);
      kill(pending, group);
    }
    if (point === at) {
      if (waitForChild && point.endsWith(':command-running') && !runningCommand()) pending = point;
      else kill(point, group);
    }
    if (pause && point === pause[1]) pauseAt(point, Number(pause[2]), env.FLOW_PAUSE_RELEASE);
    if (point === halt) haltForever(point, env);
  };
}

/**
 * FLOW_PAUSE_AT: block for ms at the point; with FLOW_PAUSE_RELEASE=<file>, say so on stderr
 * ("crash-paused P": a test waits for the point itself, not for a guess of how long the
 * step before takes) and end the pause as soon as that file exists.
 */
function pauseAt(point: string, ms: number, release: string | undefined): void {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  if (!release) {
    Atomics.wait(cell, 0, 0, ms);
    return;
  }
  process.stderr.write(`crash-paused ${point}\n`);
  const until = Date.now() + ms;
  while (!existsSync(release) && Date.now() < until) Atomics.wait(cell, 0, 0, 50);
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
