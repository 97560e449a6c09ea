/**
 * The fake kernel's facilities, each method one `exec` call naming the operation
 * ("facility.method", also the fault name), its kind and a short description for the log.
 */
import type { DmFacility, FilesystemFacility, Kernel, LoopFacility, MountFacility, PartitionFacility, SystemFacility, ZramFacility } from '../types.js';
import type { Ctx } from './context.js';
import { dmCreate, dmInfoByName, dmList, dmRemove, dmResume, dmStatus, dmTable } from './dm.js';
import { DM_TARGETS } from './dm-table.js';
import { growFs, mkfsExt4, mkfsVfat, probeFs, readExtFile, syncFs } from './filesystems.js';
import { loopAttach, loopDetach, loopList } from './loop.js';
import { freezeFs, mountFs, mountList, thawFs, umountFs } from './mounts.js';
import { readPartitions } from './partitions.js';
import { blockDeviceSize, bootId, memTotal, openBlockDevice, readBlockDevice } from './system.js';
import { zramAdd, zramConfigure, zramList, zramRemove, zramReset, zramUsage } from './zram.js';

/** 'read': no state change; 'op': a kernel operation flow performs (counted, faults, crash
 *  point); 'test': a test control (persisted, not counted). */
export type Kind = 'read' | 'op' | 'test';

/** How a facility method runs: see FakeKernel's exec. `compound` ops call ctx.point themselves. */
export type Exec = <T>(op: string, kind: Kind, what: string, fn: (ctx: Ctx) => T | Promise<T>, compound?: boolean) => Promise<T>;

/** The seven facilities over `x`. */
export function buildFacilities(x: Exec): Omit<Kernel, 'fs'> {
  const loop: LoopFacility = {
    list: () => x('loop.list', 'read', '', loopList),
    attach: (a) => x('loop.attach', 'op', a.file, (c) => loopAttach(c, a)),
    detach: (d) => x('loop.detach', 'op', d, (c) => loopDetach(c, d)),
  };
  const dm: DmFacility = {
    list: () => x('dm.list', 'read', '', dmList),
    info: (n) => x('dm.info', 'read', n, (c) => dmInfoByName(c, n)),
    create: (a) => x('dm.create', 'op', a.name, (c) => dmCreate(c, a), true),
    table: (n) => x('dm.table', 'read', n, (c) => dmTable(c, n)),
    status: (n) => x('dm.status', 'read', n, (c) => dmStatus(c, n)),
    resume: (n) => x('dm.resume', 'op', n, (c) => dmResume(c, n)),
    remove: (u) => x('dm.remove', 'op', u, (c) => dmRemove(c, u)),
    targets: () => x('dm.targets', 'read', '', () => DM_TARGETS.map((t) => ({ ...t }))),
  };
  const zram: ZramFacility = {
    list: () => x('zram.list', 'read', '', zramList),
    add: () => x('zram.add', 'op', '', zramAdd),
    configure: (id, s) => x('zram.configure', 'op', `${id}`, (c) => zramConfigure(c, id, s)),
    reset: (id) => x('zram.reset', 'op', `${id}`, (c) => zramReset(c, id)),
    remove: (id) => x('zram.remove', 'op', `${id}`, (c) => zramRemove(c, id)),
    usage: (id) => x('zram.usage', 'read', `${id}`, (c) => zramUsage(c, id)),
  };
  const mounts: MountFacility = {
    list: () => x('mounts.list', 'read', '', mountList),
    mount: (a) => x('mounts.mount', 'op', `${a.source} ${a.target}`, (c) => mountFs(c, a)),
    umount: (t) => x('mounts.umount', 'op', t, (c) => umountFs(c, t)),
  };
  const filesystems: FilesystemFacility = {
    probe: (p, o) => x('filesystems.probe', 'read', p, (c) => probeFs(c, p, o)),
    mkfsExt4: (a) => x('filesystems.mkfsExt4', 'op', a.target, (c) => mkfsExt4(c, a)),
    mkfsVfat: (a) => x('filesystems.mkfsVfat', 'op', a.target, (c) => mkfsVfat(c, a)),
    grow: (d) => x('filesystems.grow', 'op', d, (c) => growFs(c, d)),
    freeze: (t) => x('filesystems.freeze', 'op', t, (c) => freezeFs(c, t)),
    thaw: (t) => x('filesystems.thaw', 'op', t, (c) => thawFs(c, t)),
    readExtFile: (p, o, f) => x('filesystems.readExtFile', 'read', p, (c) => readExtFile(c, p, o, f)),
    sync: (p) => x('filesystems.sync', 'read', p, (c) => syncFs(c, p)),
  };
  const partitions: PartitionFacility = { read: (f) => x('partitions.read', 'read', f, (c) => readPartitions(c, f)) };
  const system: SystemFacility = {
    bootId: () => x('system.bootId', 'read', '', bootId),
    memTotal: () => x('system.memTotal', 'read', '', memTotal),
    blockDeviceSize: (d) => x('system.blockDeviceSize', 'read', d, (c) => blockDeviceSize(c, d)),
    openBlockDevice: async (d) => {
      await x('system.openBlockDevice', 'read', d, (c) => openBlockDevice(c, d));
      return { read: (n, at) => x('system.readBlockDevice', 'read', d, (c) => readBlockDevice(c, d, at, n)), close: async () => undefined };
    },
  };
  return { loop, dm, zram, mounts, filesystems, partitions, system };
}
