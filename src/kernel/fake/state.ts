/**
 * The fake kernel's whole state as one JSON-serialisable value, so it can be cloned,
 * compared and persisted between CLI processes. Device data (zram contents, snapshot
 * exceptions) is kept as base64 chunks; loop data lives in the backing files on the Fs.
 */
import { randomUUID } from 'node:crypto';
import type { KernelErrorCode } from '../../errors.js';

/** Block major numbers as on Linux. */
export const LOOP_MAJOR = 7;
export const ZRAM_MAJOR = 252;
export const DM_MAJOR = 253;

/** A bound loop device. */
export interface LoopState {
  n: number;
  backingFile: string;
  backingIno: number;
  backingDev: string;
  offset: number;
  sizeLimit: number;
  /** device size in bytes, fixed at attach time (a multiple of 512) */
  size: number;
  readOnly: boolean;
  autoclear: boolean;
  /** the binding's diskseq (absent in older states: read as 0) */
  diskseq?: number;
}

/** One table segment; `args` are normalised (devices as major:minor). */
export interface DmTarget {
  start: number;
  length: number;
  type: string;
  args: string[];
}

/** A device-mapper device. */
export interface DmState {
  name: string;
  uuid: string;
  minor: number;
  live: DmTarget[] | null;
  inactive: DmTarget[] | null;
  suspended: boolean;
  readOnly: boolean;
  /** snapshot exceptions: "<segment start>:<chunk index>" → base64 chunk */
  cow: Record<string, string>;
  /** a snapshot whose COW filled up */
  invalid: boolean;
  /** diskseq given at create (absent in older states) */
  diskseq?: number;
  /** Date.now() when the live table was loaded (dm-flakey counts its intervals from there) */
  loadedMs?: number;
}

/** A zram device. */
export interface ZramState {
  id: number;
  initialized: boolean;
  disksize: number;
  algorithm: string;
  /** written 4 KiB blocks: index → base64 */
  data: Record<string, string>;
  /** diskseq given by hot_add (absent in older states: read as 0) */
  diskseq?: number;
}

/** A mounted filesystem. */
export interface MountState {
  id: number;
  parentId: number;
  source: string;
  majmin: string;
  target: string;
  options: string[];
  fstype: string;
  /** the directory within the filesystem mounted here: "/", or a bind mount's source (absent in older states: "/") */
  root?: string;
  /** frozen by fsfreeze -f (absent: not frozen); the kernel shows it nowhere (mountinfo does not) */
  frozen?: boolean;
}

/** An armed fault (see FakeKernel.injectFault). */
export interface FaultState {
  op: string;
  code: KernelErrorCode;
  /** calls still to fail; null = every call */
  left: number | null;
  /** matching calls to let through first */
  skip: number;
  when: 'before' | 'after';
  message?: string;
}

/** Everything the fake kernel knows. */
export interface KernelState {
  version: 1;
  bootId: string;
  memTotal: number;
  nextMountId: number;
  loops: LoopState[];
  dm: DmState[];
  zram: ZramState[];
  mounts: MountState[];
  /** /dev/loop0 .. /dev/loop<loopNodes-1> exist: a loop device stays after detach, unbound and of size 0 (absent in older states) */
  loopNodes?: number;
  /**
   * The boot's diskseq counter: the last number handed out. Like the kernel, every new
   * disk (hot_add, dm create) and every loop bind and detach takes the next one; it starts
   * again at a reboot. Absent in older states (read as 0).
   */
  diskseq?: number;
  /** test-hook holders: mount targets kept busy, extra opens per device major:minor */
  holds: { mounts: string[]; devices: Record<string, number> };
  faults: FaultState[];
  /** successful state changes (see FakeKernel.mutations) */
  mutations: number;
  /** calls of state-changing operations, whatever their outcome */
  operations: number;
  /** one line per state-changing call: "op args → ok|CODE" */
  log: string[];
}

/** A fresh state: no devices, a new boot id. */
export function emptyState(memTotal = 8 * 1024 ** 3, bootId: string = randomUUID()): KernelState {
  return {
    version: 1,
    bootId,
    memTotal,
    nextMountId: 100,
    loops: [],
    dm: [],
    zram: [],
    mounts: [],
    holds: { mounts: [], devices: {} },
    faults: [],
    mutations: 0,
    operations: 0,
    log: [],
  };
}

/** Parses and sanity-checks a state read back from JSON. */
export function parseState(json: unknown): KernelState {
  const s = (typeof json === 'string' ? JSON.parse(json) : json) as Partial<KernelState> | null;
  if (!s || s.version !== 1 || !Array.isArray(s.loops) || !Array.isArray(s.dm) || !Array.isArray(s.zram) || !Array.isArray(s.mounts)) {
    throw new Error('not a fake kernel state (version 1)');
  }
  return structuredClone(s as KernelState);
}
