/**
 * A comparable summary of the fake kernel's objects (no counters, boot id or data), for
 * tests that compare the state an interrupted-and-recovered run leaves with the state
 * of an uninterrupted one.
 */
import { dmInfo } from './dm.js';
import { formatTable } from './dm-table.js';
import { loopInfo } from './loop.js';
import type { KernelState } from './state.js';

/** What `FakeKernel.snapshotState()` returns. */
export interface KernelSnapshot {
  loops: { device: string; backingFile: string; backingDev: string; backingIno: number; offset: number; sizeLimit: number; readOnly: boolean; autoclear: boolean }[];
  dm: { name: string; uuid: string; attr: string; open: number; table: string[]; inactiveTable: string[] | null; invalid: boolean }[];
  zram: { id: number; initialized: boolean; disksize: number; algorithm: string }[];
  /** `frozen` only while fsfreeze -f holds it (a rollback that forgets the thaw differs) */
  mounts: { target: string; source: string; majmin: string; fstype: string; options: string[]; frozen?: true }[];
}

/** Summarises `state`, sorted so equal states compare equal. */
export function summarize(state: KernelState): KernelSnapshot {
  return {
    loops: [...state.loops]
      .sort((a, b) => a.n - b.n)
      .map((l) => {
        // diskseq left out: a device made again after a crash rightly gets a new one
        const { majmin: _m, diskseq: _d, ...rest } = loopInfo(l);
        return rest;
      }),
    dm: [...state.dm]
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((d) => {
        const i = dmInfo(state, d);
        return { name: d.name, uuid: d.uuid, attr: i.attr, open: i.open, table: formatTable(d.live ?? []), inactiveTable: d.inactive && formatTable(d.inactive), invalid: d.invalid };
      }),
    zram: [...state.zram].sort((a, b) => a.id - b.id).map((z) => ({ id: z.id, initialized: z.initialized, disksize: z.disksize, algorithm: z.algorithm })),
    mounts: [...state.mounts].sort((a, b) => (a.target < b.target ? -1 : 1)).map((m) => ({ target: m.target, source: m.source, majmin: m.majmin, fstype: m.fstype, options: [...m.options], ...(m.frozen ? { frozen: true as const } : {}) })),
  };
}
