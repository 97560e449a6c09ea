/**
 * A FakeKernel whose state lives in a JSON file, so several CLI processes (one at a
 * time) share one fake kernel: the state is read at the start of every operation and
 * written atomically (unique temp file + rename) after every change. The test entry
 * (src/testing/entry.ts) uses it when FLOW_FAKE_KERNEL=<path> is set. The state file is kernel memory, not data: it is
 * written with node:fs directly (never through the Fs under test) and not fsynced.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { KernelError } from '../../errors.js';
import type { Fs } from '../../fs/types.js';
import { FakeKernel, type FakeKernelOptions, type StateStore } from './kernel.js';
import { emptyState, parseState, type KernelState } from './state.js';

/** Env variable naming the state file of a persisted fake kernel. */
export const FAKE_KERNEL_ENV = 'FLOW_FAKE_KERNEL';

async function save(path: string, state: KernelState): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(state), { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function load(path: string): Promise<KernelState> {
  try {
    return parseState(await readFile(path, 'utf8'));
  } catch (err) {
    throw new KernelError('EIO', `fake kernel state ${path} unreadable: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Opens (creating when missing, with `options`) the fake kernel persisted at
 * `statePath`. Options other than onPoint only apply to a new state.
 */
export async function openPersistedFakeKernel(statePath: string, fs: Fs, options: FakeKernelOptions = {}): Promise<FakeKernel> {
  let state: KernelState;
  try {
    state = parseState(await readFile(statePath, 'utf8'));
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOENT') throw new KernelError('EIO', `fake kernel state ${statePath} unreadable: ${String(err)}`);
    state = emptyState(options.memTotal, options.bootId);
    await save(statePath, state);
  }
  const store: StateStore = { load: () => load(statePath), save: (s) => save(statePath, s) };
  return new FakeKernel(fs, options, { state, store });
}
