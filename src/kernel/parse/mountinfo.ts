/** Parses /proc/self/mountinfo (see proc(5)). Pure. */
import type { MountEntry } from '../types.js';
import { nonEmptyLines, parseError, toInt } from './values.js';

/** Undoes the kernel's octal escapes in mountinfo fields (\040 space, \011 tab, \012 newline, \134 backslash). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * One entry per line: "id parent maj:min root target options [optional fields...] - fstype source superoptions".
 * The optional fields (shared:N, master:N, ...) run up to the lone "-" separator.
 */
export function parseMountinfo(text: string): Omit<MountEntry, 'device'>[] {
  return nonEmptyLines(text).map((line) => {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 7 || sep < 0 || f.length < sep + 3) throw parseError('mountinfo', JSON.stringify(line));
    return {
      id: toInt(f[0], 'mountinfo', 'mount id'),
      parentId: toInt(f[1], 'mountinfo', 'parent id'),
      majmin: f[2]!,
      root: unescapeMountField(f[3]!),
      target: unescapeMountField(f[4]!),
      options: f[5]!.split(','),
      fstype: unescapeMountField(f[sep + 1]!),
      source: unescapeMountField(f[sep + 2]!),
    };
  });
}
