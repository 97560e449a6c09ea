/**
 * Inputs for each workflow in the in-process world: a Raspberry-Pi-like image (MBR, FAT
 * boot + ext4 root with 4 KiB blocks), an ext4 image file, and objects that belong to
 * somebody else (a read-only loop on the same image, a dm device, a zram device, a
 * mount) which no run may touch.
 */
import { encodeSuperblock } from '../../src/kernel/fake/ext.js';
import type { RawOptions } from '../../src/preflight/types.js';
import type { World } from './world.js';

const MiB = 1024 * 1024;

/** An MBR with the given primary partitions (start/size in 512-byte sectors). */
export function mbr(parts: { type: number; start: number; sectors: number }[]): Buffer {
  const b = Buffer.alloc(512);
  parts.forEach((p, i) => {
    const o = 446 + i * 16;
    b[o + 4] = p.type;
    b.writeUInt32LE(p.start, o + 8);
    b.writeUInt32LE(p.sectors, o + 12);
  });
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

/** Writes bytes at offsets of a new SimFs file, then grows it (sparsely) to `size`. */
export async function putImageAsync(w: World, path: string, size: number, chunks: [number, Uint8Array][]): Promise<void> {
  w.fs.putFile(path, { size }, { durable: true });
  const fh = await w.fs.open(path, { mode: 'write' });
  for (const [o, b] of chunks) await fh.write(b, o);
  await fh.sync();
  await fh.close();
}

export const PI_IMAGE = '/img/raspios.img';
export const EXT_IMAGE = '/img/rootfs.ext4';

/** A 64 MiB Pi-like image: p1 FAT (8 MiB at 4 MiB), p2 ext4 with 4 KiB blocks (48 MiB at 12 MiB). */
export async function makePiImage(w: World, path = PI_IMAGE, blockSize = 4096): Promise<void> {
  const p2 = { start: 24576, sectors: 98304 };
  await putImageAsync(w, path, 64 * MiB, [
    [0, mbr([{ type: 0x0c, start: 8192, sectors: 16384 }, { type: 0x83, ...p2 }])],
    [p2.start * 512 + 1024, encodeSuperblock({ uuid: '11111111-2222-4333-8444-555555555555', blockSize, blockCount: (p2.sectors * 512) / blockSize })],
  ]);
}

export async function makeExtImage(w: World, path = EXT_IMAGE): Promise<void> {
  await putImageAsync(w, path, 32 * MiB, [[1024, encodeSuperblock({ uuid: '99999999-2222-4333-8444-555555555555', blockSize: 4096, blockCount: 8192 })]]);
}

/** Objects somebody else owns, made before the run: they must be exactly the same afterwards. */
export async function makeForeignObjects(w: World): Promise<void> {
  const loop = await w.kernel.loop.attach({ file: PI_IMAGE, readOnly: true });
  await w.kernel.dm.create({ name: 'someone-else', uuid: 'OTHER-1', table: [`0 8192 linear ${loop.majmin} 24576`] });
  const z = await w.kernel.zram.add();
  await w.kernel.zram.configure(z, { disksize: 8 * MiB });
}

export interface Scenario {
  workflow: string;
  /** builds the inputs in a fresh world */
  setup(w: World): Promise<void>;
  options: RawOptions;
}

export const SCENARIOS: Scenario[] = [
  {
    workflow: 'snapshot-image',
    setup: async (w) => {
      await makePiImage(w);
      await makeForeignObjects(w);
    },
    options: { image: PI_IMAGE, size: '128M', cowSize: '16M' },
  },
  {
    workflow: 'delayed-device',
    setup: async (w) => {
      await makePiImage(w);
      await makeForeignObjects(w);
    },
    options: { file: '/img/slow.img', size: '64M', delay: '100' },
  },
  {
    workflow: 'loop-mount',
    setup: async (w) => {
      await makePiImage(w);
      await makeExtImage(w);
      await makeForeignObjects(w);
    },
    options: { file: EXT_IMAGE, mountpoint: '/mnt/rootfs' },
  },
];
