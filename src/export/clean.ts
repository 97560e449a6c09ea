/**
 * A copy of a mounted filesystem, made clean as unmounting it would. Linux marks a FAT it
 * mounts read-write "dirty" in its boot sector (the state byte: offset 0x41 in a FAT32
 * boot sector, 0x25 in a FAT12/16 one; bit 0) and clears the bit at unmount; a copy taken
 * while it is mounted (after syncfs, so the rest is on the device) carries the bit, and
 * fsck.fat would report the volume as not properly unmounted. (A mounted ext4 needs
 * nothing here: export.ts freezes it for the copy, which checkpoints its journal and
 * clears `needs_recovery`.) Pure here; the shell applies it to the temporary file only.
 */

const FAT_DIRTY = 0x01;

/** The byte offset of a FAT boot sector's state byte when its dirty bit is set, else null. */
export function fatDirtyAt(boot: Uint8Array): number | null {
  if (boot.length < 512 || boot[510] !== 0x55 || boot[511] !== 0xaa) return null;
  // FAT32 is the FAT whose 16-bit sectors-per-FAT (BPB_FATSz16) is 0
  const fat32 = boot[22] === 0 && boot[23] === 0;
  const at = fat32 ? 0x41 : 0x25;
  return (boot[at]! & FAT_DIRTY) !== 0 ? at : null;
}

/** The boot sector with its dirty bit cleared (a copy). */
export function fatCleaned(boot: Uint8Array, at: number): Uint8Array {
  const out = Uint8Array.from(boot);
  out[at] = out[at]! & ~FAT_DIRTY;
  return out;
}
