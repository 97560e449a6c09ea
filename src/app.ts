/**
 * The imperative shell's wiring: the real (or, for tests, persisted fake) kernel, the
 * state directory, locks, and a runner. Commands get everything from here.
 */
import { randomUUID } from 'node:crypto';
import { JournalStore } from '../journal/store.js';
import { FlockLocks, HOST_LOCK_DIR, heldLockFds } from '../journal/lock.js';
import { onCommandStarted, setInheritedFds } from './kernel/exec.js';
import { realFs } from './fs/real.js';
import type { Kernel } from './kernel/types.js';
import { createRealKernel } from './kernel/real/index.js';
import { openPersistedFakeKernel } from './kernel/fake/persisted.js';
import type { PointHook } from './kernel/fake/context.js';
import type { FakeKernel } from './kernel/fake/kernel.js';
import { crashHookFromEnv, disabledSyncsFromEnv } from './cli/crash-env.js';
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
  runner(opts: { observe?: EventObserver; interrupted?: () => string | undefined }): Runner;
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

/** The fake kernel's hook, narrowed to the half-created dm device (name held, no table yet). */
export function dmMidpoint(fn: (() => void) | undefined): PointHook | undefined {
  return fn ? (_p, info) => (info.op === 'dm.create' && info.stage === 'created' ? fn() : undefined) : undefined;
}

/** The real kernel's "command running" point of a dm create: right after `dmsetup create` started. */
let stopDmMidpoint: (() => void) | undefined;
function realDmMidpoint(fn: (() => void) | undefined): void {
  stopDmMidpoint?.();
  stopDmMidpoint = fn ? onCommandStarted((c) => (c.argv[0] === 'dmsetup' && c.argv[1] === 'create' ? fn() : undefined)) : undefined;
}

/**
 * The kernel alone (what `flow plan` needs: it opens no state directory): the real one,
 * or with FLOW_FAKE_KERNEL (tests only) a persisted fake.
 */
export async function openKernel(env: NodeJS.ProcessEnv = process.env): Promise<{ kernel: Kernel; fake?: FakeKernel; runDir: string }> {
  const fakePath = env.FLOW_FAKE_KERNEL;
  const fake = fakePath ? await openPersistedFakeKernel(fakePath, realFs) : undefined;
  return { kernel: fake ?? createRealKernel(realFs), fake, runDir: env.FLOW_RUN_DIR ?? '/run/flow' };
}

export async function openApp(stateDir: string, env: NodeJS.ProcessEnv = process.env): Promise<App> {
  const crash = crashHookFromEnv(env);
  const { kernel, fake, runDir } = await openKernel(env);
  const store = await JournalStore.open({ fs: realFs, crash, disabledSyncs: disabledSyncsFromEnv(env) }, stateDir, { uid: process.getuid?.() ?? 0, now: () => new Date().toISOString() });
  const local = new FlockLocks(store.dirs.locks);
  // the fake kernel (tests) allocates nothing on the host: its "host" lock is the state dir's
  const locks = new HostLocks(local, fake ? local : new FlockLocks(HOST_LOCK_DIR, { privateDir: true }));
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
        locks,
        flowVersion: FLOW_VERSION,
        crash,
        setKernelMidpoint: fake ? (fn) => (fake.onPoint = dmMidpoint(fn)) : realDmMidpoint,
        interrupted: opts.interrupted,
        observe: opts.observe,
      }),
  };
}
