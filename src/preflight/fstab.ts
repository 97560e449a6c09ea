/**
 * An image's /etc/fstab, as far as a partition param found through it needs it (fstab-partition.ts): which partition is mounted where,
 * and how the fstab names it (PARTUUID=, LABEL=, UUID=, or a device path). Pure.
 */

export interface FstabEntry {
  /** the first field, e.g. "PARTUUID=5452574f-01" */
  spec: string;
  /** the mount point, e.g. "/boot/firmware" */
  target: string;
  type: string;
}

/** fstab's octal escapes (\040 for a space) undone. */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));

export function parseFstab(text: string): FstabEntry[] {
  const out: FstabEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [spec, target, type] = line.split(/\s+/);
    if (spec === undefined || target === undefined) continue;
    out.push({ spec: unescape(spec), target: unescape(target).replace(/\/+$/, '') || '/', type: type ?? 'auto' });
  }
  return out;
}

/** The entry that mounts something at the first of `places` (in that order) the fstab has. */
export function entryAt(entries: readonly FstabEntry[], places: readonly string[]): FstabEntry | undefined {
  for (const dir of places) {
    const e = entries.find((x) => x.target === dir);
    if (e) return e;
  }
  return undefined;
}

/** What a partition is known by: its number, PARTUUID, and its filesystem's LABEL and UUID. */
export interface PartitionNames {
  number: number;
  partuuid?: string;
  label?: string;
  uuid?: string;
}

/**
 * The PARTUUID the kernel gives a partition: DOS "<disk id, 8 hex digits>-<number, 2 hex
 * digits>", GPT the partition's own UUID.
 */
export function partuuidOf(table: { label: string; id?: string }, p: { number: number; uuid?: string }): string | undefined {
  if (table.label === 'gpt') return p.uuid?.toLowerCase();
  if (table.label !== 'dos' || !table.id) return undefined;
  const id = table.id.toLowerCase().replace(/^0x/, '').padStart(8, '0');
  return `${id}-${p.number.toString(16).padStart(2, '0')}`;
}

/** The partition an fstab spec names, or undefined (also for a spec flow cannot resolve, e.g. a network share). */
export function partitionFor(spec: string, parts: readonly PartitionNames[]): PartitionNames | undefined {
  const eq = spec.indexOf('=');
  const key = eq > 0 ? spec.slice(0, eq).toUpperCase() : '';
  const val = eq > 0 ? spec.slice(eq + 1).replace(/^"(.*)"$/, '$1') : spec;
  switch (key) {
    case 'PARTUUID':
      return parts.find((p) => p.partuuid !== undefined && p.partuuid === val.toLowerCase());
    case 'LABEL':
      return parts.find((p) => p.label === val);
    case 'UUID':
      return parts.find((p) => p.uuid !== undefined && p.uuid.toLowerCase() === val.toLowerCase());
    default: {
      // a device path of the Pi itself: /dev/mmcblk0p1, /dev/sda1
      const m = /^\/dev\/(?:mmcblk\d+p|sd[a-z]|nvme\d+n\d+p|vd[a-z])(\d+)$/.exec(spec);
      return m ? parts.find((p) => p.number === Number(m[1])) : undefined;
    }
  }
}
