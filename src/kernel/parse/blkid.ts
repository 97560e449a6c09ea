/** Parses `blkid -p -o export`. Pure. */
import type { FsProbe } from '../types.js';
import { nonEmptyLines, toInt } from './values.js';

/** KEY=value lines → a record; blkid's backslash escapes (e.g. "my\ label") are undone. */
export function parseBlkidExport(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of nonEmptyLines(text)) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out[line.slice(0, eq)] = line.slice(eq + 1).replace(/\\(.)/g, '$1');
  }
  return out;
}

/**
 * The filesystem blkid found: TYPE, UUID and BLOCK_SIZE when printed. null when there
 * is no TYPE (nothing found, or only a partition table: PTTYPE/PTUUID).
 */
export function fsProbeFromBlkid(text: string): FsProbe | null {
  const kv = parseBlkidExport(text);
  if (!kv.TYPE) return null;
  const probe: FsProbe = { type: kv.TYPE };
  if (kv.UUID) probe.uuid = kv.UUID;
  if (kv.LABEL) probe.label = kv.LABEL;
  if (kv.BLOCK_SIZE) probe.blockSize = toInt(kv.BLOCK_SIZE, 'blkid', 'BLOCK_SIZE');
  return probe;
}
