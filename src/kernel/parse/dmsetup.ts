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

/**
 * The device `dmsetup create -v` prints once it is created, loaded and resumed (dmsetup's
 * long info: "Name:", "State: ACTIVE [(READ-ONLY)]", "Tables present: LIVE [& INACTIVE] |
 * INACTIVE | None", "Open count:", "Major, minor: 253, 0", "UUID:"), as a DmInfo; a parse
 * error when a field is missing or unknown.
 */
export function parseDmCreated(text: string): DmInfo {
  const fields = new Map<string, string>();
  for (const line of nonEmptyLines(text)) {
    const m = /^([A-Za-z][A-Za-z ,]*):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!, m[2]!.trim());
  }
  const field = (name: string): string => {
    const v = fields.get(name);
    if (v === undefined) throw parseError('dmsetup create -v', `no "${name}:" line in ${JSON.stringify(text)}`);
    return v;
  };
  const state = /^(ACTIVE|SUSPENDED)( \(READ-ONLY\))?( \(DEFERRED REMOVE\))?$/.exec(field('State'));
  if (!state) throw parseError('dmsetup create -v', `unknown state ${JSON.stringify(field('State'))}`);
  const tables = field('Tables present');
  if (!/^(None|LIVE|INACTIVE|LIVE & INACTIVE)$/.test(tables)) throw parseError('dmsetup create -v', `unknown tables ${JSON.stringify(tables)}`);
  const majmin = /^(\d+), (\d+)$/.exec(field('Major, minor'));
  if (!majmin) throw parseError('dmsetup create -v', `unknown device number ${JSON.stringify(field('Major, minor'))}`);
  // the same attr as `info -c` shows, decoded by the same function
  const attr = `${tables.startsWith('LIVE') ? 'L' : '-'}${tables.endsWith('INACTIVE') ? 'I' : '-'}${state[1] === 'SUSPENDED' ? 's' : '-'}${state[2] ? 'r' : 'w'}`;
  return {
    name: field('Name'),
    uuid: fields.get('UUID') ?? '',
    attr,
    ...decodeDmAttr(attr),
    open: toInt(field('Open count'), 'dmsetup', 'open'),
    major: toInt(majmin[1], 'dmsetup', 'major'),
    minor: toInt(majmin[2], 'dmsetup', 'minor'),
  };
}
