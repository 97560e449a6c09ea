/** Parses the `dmsetup status` line of a snapshot target. Pure. */

/** A snapshot's state as the kernel reports it (sizes in 512-byte sectors). */
export type SnapshotStatus =
  | { state: 'active'; allocatedSectors: number; totalSectors: number; metadataSectors: number }
  /** the COW filled up: the snapshot is dead and cannot be recovered */
  | { state: 'invalid' }
  | { state: 'overflow' }
  | { state: 'merge-failed' }
  /** a store that reports no usage, or text this parser does not know */
  | { state: 'unknown'; raw: string };

/**
 * Accepts the whole status line ("0 10485760 snapshot 16/8388608 16") or only the
 * target's part ("16/8388608 16", "Invalid", "Overflow", "Merge failed", "Unknown").
 */
export function parseSnapshotStatus(line: string): SnapshotStatus {
  let rest = line.trim().replace(/\s+/g, ' ');
  const prefix = /^\d+ \d+ snapshot(?: |$)/.exec(rest);
  if (prefix) rest = rest.slice(prefix[0].length).trim();
  if (rest === 'Invalid') return { state: 'invalid' };
  if (rest === 'Overflow') return { state: 'overflow' };
  if (rest === 'Merge failed') return { state: 'merge-failed' };
  const m = /^(\d+)\/(\d+) (\d+)$/.exec(rest);
  if (m) return { state: 'active', allocatedSectors: Number(m[1]), totalSectors: Number(m[2]), metadataSectors: Number(m[3]) };
  return { state: 'unknown', raw: rest };
}
