/**
 * The imperative shell's wiring: the real kernel, the state directory, locks, and a
 * runner. Commands get everything from here. A test build changes the wiring only through
 * the test seam (src/test-seam.ts), which the shipped entry never installs.
 */
import { randomUUID } from 'node:crypto';
import { JournalStore } from '../journal/store.js';
import { FlockLocks, HOST_LOCK_DIR, heldLockFds } from '../journal/lock.js';
import { setInheritedFds } from './kernel/exec.js';
import { realFs } from './fs/real.js';
import type { Kernel } from './kernel/types.js';
import { createRealKernel } from './kernel/real/index.js';
import { testSeam } from './test-seam.js';
import { Runner } from './engine/runner.js';
import type { EventObserver } from './engine/session.js';
import type { Locks, LockOptions, Release } from '../journal/lock.js';
import { FLOW_VERSION } from './version.js';

export { FLOW_VERSION, DEFAULT_STATE_DIR } from './version.js';

export interface App {
  kernel: Kernel;
  store: JournalStore;
  locks: Locks;
  runDir: string;
  newUuid(): string;
  /** `locks`: instead of the app's (flow exec hands the runner a run lock it already holds) */
  runner(opts: { observe?: EventObserver; interrupted?: () => string | undefined; locks?: Locks }): Runner;
}

/** The host-wide allocation lock lives in HOST_LOCK_DIR (shared by every state dir); the rest in the state dir. */
class HostLocks implements Locks {
  constructor(
    private readonly local: FlockLocks,
    private readonly host: FlockLocks,
  ) {}
  acquire(name: string, opts: LockOptions): Promise<Release> {
    return (name === 'alloc' ? this.host : this.local).acquire(name === 'alloc' ? 'flow-alloc' : name, opts);
  }
  check(name: string): Promise<void> {
    return (name === 'alloc' ? this.host : this.local).check(name === 'alloc' ? 'flow-alloc' : name);
  }
}

/**
 * The kernel alone (what `flow plan` and `flow doctor` need: they open no state
 * directory): the real one, unless a test seam brings its own (`test`).
 */
export async function openKernel(env: NodeJS.ProcessEnv = process.env): Promise<{ kernel: Kernel; test: boolean; runDir: string }> {
  const own = await testSeam()?.openKernel?.();
  return { kernel: own ?? createRealKernel(realFs), test: own !== undefined, runDir: env.FLOW_RUN_DIR ?? '/run/flow' };
}

/** The journal store alone, never with a test seam's hooks (`flow doctor` only reads). */
export function openStore(stateDir: string): Promise<JournalStore> {
  return JournalStore.open({ fs: realFs }, stateDir, { uid: process.getuid?.() ?? 0, now: () => new Date().toISOString() });
}

export async function openApp(stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<App> {
  const seam = testSeam();
  const crash = seam?.crash;
  const { kernel, test, runDir } = await openKernel(env);
  const store = await JournalStore.open({ fs: realFs, crash, disabledSyncs: seam?.disabledSyncs }, stateDir, { uid: process.getuid?.() ?? 0, now: () => new Date().toISOString() });
  const local = new FlockLocks(store.dirs.locks);
  // a test kernel's devices are its own: its runs share no host-wide lock with real ones
  const locks = new HostLocks(local, test ? local : new FlockLocks(HOST_LOCK_DIR, { privateDir: true }));
  setInheritedFds(heldLockFds);
  return {
    kernel,
    store,
    locks,
    runDir,
    newUuid: () => randomUUID(),
    runner: (opts) =>
      new Runner({
        kernel,
        store,
        locks: opts.locks ?? locks,
        flowVersion: FLOW_VERSION,
        crash,
        setKernelMidpoint: seam?.setKernelMidpoint,
        interrupted: opts.interrupted,
        observe: opts.observe,
      }),
  };
}
