/**
 * The machine an ELF executable is built for, from its header alone (pure): what `flow
 * exec` reads of the image's own /bin/sh to learn whether the host can run its programs.
 */

/** The architectures flow names; any other ELF machine is `e_machine N`. */
export type Machine = 'x86_64' | 'i386' | 'aarch64' | 'arm' | 'riscv64' | 'ppc64le' | 's390x' | `e_machine ${number}`;

export interface ElfInfo {
  machine: Machine;
  /** 32 or 64 (EI_CLASS) */
  bits: 32 | 64;
  endian: 'little' | 'big';
}

/** Bytes of the header `elfInfo` needs (e_ident and e_machine). */
export const ELF_HEADER_BYTES = 20;

const MACHINES: Record<number, Machine> = { 3: 'i386', 20: 'ppc64le', 22: 's390x', 40: 'arm', 62: 'x86_64', 183: 'aarch64', 243: 'riscv64' };

/** The ELF header's machine; undefined when `head` is not an ELF header (a script, a text file, too short). */
export function elfInfo(head: Uint8Array): ElfInfo | undefined {
  if (head.length < ELF_HEADER_BYTES) return undefined;
  if (head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined;
  const cls = head[4];
  const data = head[5];
  if ((cls !== 1 && cls !== 2) || (data !== 1 && data !== 2)) return undefined;
  const endian = data === 1 ? 'little' : 'big';
  const e = endian === 'little' ? head[18]! | (head[19]! << 8) : (head[18]! << 8) | head[19]!;
  const machine = MACHINES[e] ?? (`e_machine ${e}` as const);
  // EM_PPC64 little-endian only is ppc64le; big-endian would be ppc64
  return { machine: machine === 'ppc64le' && endian === 'big' ? `e_machine ${e}` : machine, bits: cls === 1 ? 32 : 64, endian };
}

/** The machine Node reports for this host (`process.arch`). */
export function hostMachine(arch: string = process.arch): Machine | undefined {
  const m: Record<string, Machine> = { x64: 'x86_64', ia32: 'i386', arm64: 'aarch64', arm: 'arm', riscv64: 'riscv64', ppc64: 'ppc64le', s390x: 's390x' };
  return m[arch];
}

/** The Debian architecture word, for messages. */
export function debianArch(m: Machine): string {
  const d: Partial<Record<string, string>> = { x86_64: 'amd64', i386: 'i386', aarch64: 'arm64', arm: 'armhf/armel', riscv64: 'riscv64', ppc64le: 'ppc64el', s390x: 's390x' };
  return d[m] ?? m;
}
