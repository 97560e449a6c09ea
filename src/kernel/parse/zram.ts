/** Parses zram's sysfs files (Documentation/admin-guide/blockdev/zram.rst). Pure. */
import { parseError, toInt } from './values.js';

/** `comp_algorithm` ("lzo [lzo-rle] lz4 zstd") → the bracketed selection and all choices. */
export function parseCompAlgorithm(text: string): { selected: string; available: string[] } {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  const chosen = words.find((w) => w.startsWith('[') && w.endsWith(']'));
  if (!chosen) throw parseError('zram comp_algorithm', JSON.stringify(text));
  return { selected: chosen.slice(1, -1), available: words.map((w) => w.replace(/^\[|\]$/g, '')) };
}

/** The leading `mm_stat` columns (bytes, except samePages/pagesCompacted/hugePages: pages). */
export interface ZramMmStat {
  origDataSize: number;
  comprDataSize: number;
  memUsedTotal: number;
  memLimit: number;
  memUsedMax: number;
  samePages: number;
  pagesCompacted: number;
  /** absent before Linux 5.x */
  hugePages?: number;
}

/** `mm_stat` ("4194304 2097152 2097152 0 2097152 512 0 512 512") → its named fields; needs at least 7 columns. */
export function parseMmStat(text: string): ZramMmStat {
  const cols = text.trim().split(/\s+/).filter((w) => w !== '');
  if (cols.length < 7) throw parseError('zram mm_stat', JSON.stringify(text));
  const n = cols.map((c, i) => toInt(c, 'zram mm_stat', `column ${i + 1}`));
  const stat: ZramMmStat = {
    origDataSize: n[0]!,
    comprDataSize: n[1]!,
    memUsedTotal: n[2]!,
    memLimit: n[3]!,
    memUsedMax: n[4]!,
    samePages: n[5]!,
    pagesCompacted: n[6]!,
  };
  if (n.length > 7) stat.hugePages = n[7]!;
  return stat;
}
