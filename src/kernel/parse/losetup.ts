/** Parses `losetup -J -l -O <LOSETUP_COLUMNS>` into LoopInfo records (without diskseq, which losetup does not show). Pure. */
import type { LoopInfo } from '../types.js';
import { parseError, toBool, toInt, toStr } from './values.js';

/** The columns flow asks losetup for, in this order. */
export const LOSETUP_COLUMNS = 'NAME,MAJ:MIN,BACK-FILE,BACK-INO,BACK-MAJ:MIN,OFFSET,SIZELIMIT,RO,AUTOCLEAR';

/**
 * The loop devices in losetup's JSON. Empty output (no loop devices at all) and an
 * empty "loopdevices" array both give []. util-linux 2.38 pads "maj:min" with spaces
 * ("  7:1  "); older versions print numbers as strings and RO/AUTOCLEAR as "0"/"1".
 */
export function parseLosetupJson(text: string): Omit<LoopInfo, 'diskseq'>[] {
  const trimmed = text.trim();
  if (trimmed === '' || /^No loop devices/i.test(trimmed)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(trimmed);
  } catch (err) {
    throw parseError('losetup', `not JSON (${(err as Error).message})`);
  }
  const list = (doc as { loopdevices?: unknown }).loopdevices;
  if (!Array.isArray(list)) throw parseError('losetup', 'no "loopdevices" array');
  return list.map((raw: Record<string, unknown>): Omit<LoopInfo, 'diskseq'> => {
    const device = toStr(raw.name);
    if (!device.startsWith('/dev/')) throw parseError('losetup', `bad device name ${JSON.stringify(raw.name)}`);
    return {
      device,
      majmin: toStr(raw['maj:min']),
      // not trimmed: a path may end in a space; " (deleted)" is appended when the file was unlinked
      backingFile: raw['back-file'] == null ? '' : String(raw['back-file']),
      backingIno: toInt(raw['back-ino'], 'losetup', 'back-ino'),
      backingDev: toStr(raw['back-maj:min']),
      offset: toInt(raw.offset, 'losetup', 'offset'),
      sizeLimit: toInt(raw.sizelimit, 'losetup', 'sizelimit'),
      readOnly: toBool(raw.ro, 'losetup', 'ro'),
      autoclear: toBool(raw.autoclear, 'losetup', 'autoclear'),
    };
  });
}
