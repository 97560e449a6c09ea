/**
 * binfmt_misc, read (pure): the entries of /proc/sys/fs/binfmt_misc as the kernel prints
 * them, and which of them would run a given executable. An image of another architecture
 * runs in a chroot only through an entry whose interpreter the kernel opened when it was
 * registered (flag F, "fix binary"): without F the kernel looks the interpreter's path up
 * inside the chroot, where it is not, and the command fails with "Exec format error" or
 * "No such file or directory".
 */

export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter: string;
  /** the flag letters (P, O, C, F) */
  flags: string;
  /** a magic entry: the bytes at `offset`, compared under `mask` (all ones when none) */
  magic?: { offset: number; bytes: Uint8Array; mask: Uint8Array };
  /** an extension entry (never matches by content) */
  extension?: string;
}

const hex = (s: string): Uint8Array | undefined => (/^(?:[0-9a-f]{2})+$/i.test(s) ? Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16))) : undefined);

/** One entry file's text; undefined when it is not one (the `register` and `status` files, garbage). */
export function parseBinfmtEntry(name: string, text: string): BinfmtEntry | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const state = lines[0];
  if (state !== 'enabled' && state !== 'disabled') return undefined;
  const field = (key: string): string | undefined => {
    const l = lines.find((x) => x === key || x.startsWith(`${key} `) || x.startsWith(`${key}:`));
    return l === undefined ? undefined : l.slice(key.length).replace(/^:?\s*/, '');
  };
  const interpreter = field('interpreter');
  if (!interpreter) return undefined;
  const entry: BinfmtEntry = { name, enabled: state === 'enabled', interpreter, flags: field('flags') ?? '' };
  const magic = field('magic');
  if (magic !== undefined) {
    const bytes = hex(magic);
    const offset = Number(field('offset') ?? '0');
    const maskText = field('mask');
    const mask = maskText === undefined ? new Uint8Array(bytes?.length ?? 0).fill(0xff) : hex(maskText);
    if (!bytes || !mask || mask.length !== bytes.length || !Number.isSafeInteger(offset) || offset < 0) return undefined;
    entry.magic = { offset, bytes, mask };
  }
  const ext = field('extension');
  if (ext !== undefined) entry.extension = ext;
  if (!entry.magic && entry.extension === undefined) return undefined;
  return entry;
}

/** Whether the kernel would hand an executable starting with `head` to `e` (its magic under its mask). */
export function entryMatches(e: BinfmtEntry, head: Uint8Array): boolean {
  if (!e.magic) return false;
  const { offset, bytes, mask } = e.magic;
  if (head.length < offset + bytes.length) return false;
  return bytes.every((b, i) => (head[offset + i]! & mask[i]!) === (b & mask[i]!));
}

export type InterpreterVerdict =
  | { ok: true; entry: BinfmtEntry }
  | { ok: false; reason: string };

/**
 * Whether binfmt_misc runs an executable starting with `head` inside a chroot: the facility
 * is enabled, and the first enabled entry matching it (the kernel tries them in order of
 * registration; we see them in directory order, so any enabled match with F is taken) has F.
 */
export function interpreterFor(status: 'enabled' | 'disabled' | 'absent', entries: readonly BinfmtEntry[], head: Uint8Array): InterpreterVerdict {
  if (status === 'absent') return { ok: false, reason: 'binfmt_misc is not mounted (/proc/sys/fs/binfmt_misc has no status file)' };
  if (status === 'disabled') return { ok: false, reason: 'binfmt_misc is disabled (/proc/sys/fs/binfmt_misc/status says disabled)' };
  const matching = entries.filter((e) => entryMatches(e, head));
  const usable = matching.find((e) => e.enabled && e.flags.includes('F'));
  if (usable) return { ok: true, entry: usable };
  if (matching.length === 0) return { ok: false, reason: 'no binfmt_misc entry is registered for it' };
  const enabled = matching.filter((e) => e.enabled);
  if (enabled.length === 0) return { ok: false, reason: `its binfmt_misc entr${matching.length === 1 ? 'y is' : 'ies are'} disabled: ${matching.map((e) => e.name).join(', ')}` };
  return { ok: false, reason: `its binfmt_misc entry ${enabled.map((e) => `${e.name} (interpreter ${e.interpreter}, flags "${e.flags}")`).join(', ')} lacks the F flag: the kernel would look for the interpreter inside the image` };
}
