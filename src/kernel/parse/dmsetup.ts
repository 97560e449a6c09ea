/** Parses dmsetup's `info -c` and `targets` output. Pure. */
import type { DmInfo } from '../types.js';
import { nonEmptyLines, parseError, toInt } from './values.js';

/** The `info -c` arguments whose output parseDmInfo reads (fields in this order). */
export const DM_INFO_ARGS = ['info', '-c', '--noheadings', '--separator', ';', '-o', 'name,uuid,attr,open,major,minor'] as const;

/** Decodes the 4-character attr field: (L)ive, (I)nactive, (s)uspended, (r)ead-only or read-(w)rite. */
export function decodeDmAttr(attr: string): Pick<DmInfo, 'live' | 'inactive' | 'suspended' | 'readOnly'> {
  if (!/^[L-][I-][s-][rw]$/.test(attr)) throw parseError('dmsetup', `unknown attr ${JSON.stringify(attr)}`);
  return { live: attr[0] === 'L', inactive: attr[1] === 'I', suspended: attr[2] === 's', readOnly: attr[3] === 'r' };
}

/** One DmInfo per line of `dmsetup info -c --noheadings --separator ';' -o name,uuid,attr,open,major,minor`; "No devices found" → []. */
export function parseDmInfo(text: string): DmInfo[] {
  const out: DmInfo[] = [];
  for (const line of nonEmptyLines(text)) {
    if (/^No devices found/i.test(line.trim())) continue;
    const fields = line.split(';');
    if (fields.length !== 6) throw parseError('dmsetup', `expected 6 ';'-separated fields: ${JSON.stringify(line)}`);
    const [name, uuid, attr, open, major, minor] = fields as [string, string, string, string, string, string];
    out.push({
      name,
      uuid,
      attr: attr.trim(),
      ...decodeDmAttr(attr.trim()),
      open: toInt(open, 'dmsetup', 'open'),
      major: toInt(major, 'dmsetup', 'major'),
      minor: toInt(minor, 'dmsetup', 'minor'),
    });
  }
  return out;
}

/** `dmsetup targets` ("linear           v1.4.0" per line) → [{name:'linear', version:'1.4.0'}]. */
export function parseDmTargets(text: string): { name: string; version: string }[] {
  return nonEmptyLines(text).map((line) => {
    const m = /^\s*(\S+)\s+v?(\d+(?:\.\d+)*)\s*$/.exec(line);
    if (!m) throw parseError('dmsetup targets', JSON.stringify(line));
    return { name: m[1]!, version: m[2]! };
  });
}
