/**
 * Can this host run the image's programs in a chroot (pure)? Its own machine natively (and
 * i386 on x86_64, arm on aarch64: the kernel's compat modes); any other only through a
 * binfmt_misc entry with the F flag (binfmt.ts).
 */
import { ExecRefusedError } from '../errors.js';
import { interpreterFor, type BinfmtEntry } from './binfmt.js';
import { debianArch, type ElfInfo, type Machine } from './elf.js';

export const BINFMT_FIX = 'apt-get install qemu-user-static binfmt-support';

const NATIVE: Partial<Record<Machine, Machine[]>> = { x86_64: ['x86_64', 'i386'], aarch64: ['aarch64', 'arm'] };

export type ArchVerdict = { how: 'native' } | { how: 'binfmt'; entry: BinfmtEntry };

/** Throws ExecRefusedError with the fix when the host cannot run `probe` inside the image. */
export function archVerdict(
  host: Machine | undefined,
  probe: { path: string; head: Uint8Array; elf: ElfInfo },
  binfmt: { status: 'enabled' | 'disabled' | 'absent'; entries: readonly BinfmtEntry[] },
): ArchVerdict {
  const image = probe.elf.machine;
  if (host !== undefined && (NATIVE[host] ?? [host]).includes(image)) return { how: 'native' };
  const v = interpreterFor(binfmt.status, binfmt.entries, probe.head);
  if (v.ok) return { how: 'binfmt', entry: v.entry };
  throw new ExecRefusedError(
    `the image's ${probe.path} is a ${image} (${debianArch(image)}) program and this host is ${host ?? process.arch}: it cannot run there, ${v.reason}`,
    `install an emulator registered with the F flag: \`${BINFMT_FIX}\` (then \`update-binfmts --display\` lists qemu-${image === 'arm' ? 'arm' : image} with flags containing F)`,
  );
}
