/**
 * A view of a Kernel for what only reads it: a preflight (src/preflight/workflow.ts) and `flow
 * show`. Each listing and probe is taken once and shared by every check or step that asks (a
 * preflight's workflow checks and its steps' kind checks list the same loop devices, and
 * snapshot-image's probed the image twice; `flow show` probes each step for its live state and
 * again to draw the device tree: a done delayed-device run listed the loop devices, the dm
 * devices and the filesystem twice each; under the kernel lab's emulation one such process
 * costs ~1 s). The answers are one moment's: what a check or a report needs. Every caller
 * gets its own copy of an answer (a caller that sorts a list in place does not change
 * another's), and every method that would change the kernel is refused: the view cannot be
 * used to change anything. Files (`fs`) are passed through as they are.
 */
import { KernelError } from '../errors.js';
import type { Kernel } from './types.js';

type Read<A extends unknown[], R> = (...args: A) => Promise<R>;

function once<A extends unknown[], R>(read: Read<A, R>): Read<A, R> {
  const taken = new Map<string, Promise<R>>();
  return (...args: A) => {
    const key = JSON.stringify(args);
    let p = taken.get(key);
    if (!p) {
      p = read(...args);
      taken.set(key, p);
    }
    return p.then((r) => structuredClone(r));
  };
}

function refused(what: string): () => Promise<never> {
  return () => Promise.reject(new KernelError('EPERM', `${what}: this command only reads the kernel`));
}

/** `kernel` read once per listing and probe; nothing that changes it. */
export function readOnceView(kernel: Kernel): Kernel {
  const { loop, dm, zram, mounts, filesystems, partitions, system } = kernel;
  // at offset 0 or none: one question (blkid without -O)
  const probe = once((path: string, offset: number) => filesystems.probe(path, offset || undefined));
  return {
    loop: { list: once(() => loop.list()), attach: refused('loop.attach'), detach: refused('loop.detach') },
    dm: {
      list: once(() => dm.list()),
      info: once((name: string) => dm.info(name)),
      table: once((name: string) => dm.table(name)),
      status: once((name: string) => dm.status(name)),
      targets: once(() => dm.targets()),
      create: refused('dm.create'),
      resume: refused('dm.resume'),
      remove: refused('dm.remove'),
    },
    zram: {
      list: once(() => zram.list()),
      usage: once((id: number) => zram.usage(id)),
      add: refused('zram.add'),
      configure: refused('zram.configure'),
      reset: refused('zram.reset'),
      remove: refused('zram.remove'),
    },
    mounts: { list: once(() => mounts.list()), mount: refused('mounts.mount'), umount: refused('mounts.umount') },
    filesystems: {
      probe: (path: string, offset?: number) => probe(path, offset ?? 0),
      readExtFile: once((path: string, offset: number, file: string) => filesystems.readExtFile(path, offset, file)),
      mkfsExt4: refused('filesystems.mkfsExt4'),
      mkfsVfat: refused('filesystems.mkfsVfat'),
      grow: refused('filesystems.grow'),
      freeze: refused('filesystems.freeze'),
      thaw: refused('filesystems.thaw'),
      sync: refused('filesystems.sync'),
    },
    partitions: { read: once((file: string) => partitions.read(file)) },
    system: {
      bootId: once(() => system.bootId()),
      memTotal: once(() => system.memTotal()),
      blockDeviceSize: once((device: string) => system.blockDeviceSize(device)),
      openBlockDevice: refused('system.openBlockDevice'),
    },
    fs: kernel.fs,
  };
}
