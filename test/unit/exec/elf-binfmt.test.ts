/** flow exec's pure parts, by tables: ELF machine detection, binfmt_misc entries, the architecture verdict. */
import { describe, expect, it } from 'vitest';
import { archVerdict, BINFMT_FIX } from '../../../src/exec/arch.js';
import { entryMatches, interpreterFor, parseBinfmtEntry, type BinfmtEntry } from '../../../src/exec/binfmt.js';
import { elfInfo, hostMachine } from '../../../src/exec/elf.js';
import { ExecRefusedError } from '../../../src/errors.js';

/** An ELF header: class (1: 32-bit, 2: 64-bit), data (1: LE, 2: BE), e_machine. */
function elf(cls: number, data: number, em: number, len = 64): Uint8Array {
  const b = new Uint8Array(len);
  b.set([0x7f, 0x45, 0x4c, 0x46, cls, data, 1]);
  b[16] = 2; // ET_EXEC
  if (data === 1) [b[18], b[19]] = [em & 0xff, em >> 8];
  else [b[18], b[19]] = [em >> 8, em & 0xff];
  return b;
}

describe('elfInfo: the machine of an ELF header', () => {
  it.each([
    ['x86_64', elf(2, 1, 62), { machine: 'x86_64', bits: 64, endian: 'little' }],
    ['i386', elf(1, 1, 3), { machine: 'i386', bits: 32, endian: 'little' }],
    ['aarch64 (arm64)', elf(2, 1, 183), { machine: 'aarch64', bits: 64, endian: 'little' }],
    ['arm (armhf/armel)', elf(1, 1, 40), { machine: 'arm', bits: 32, endian: 'little' }],
    ['riscv64', elf(2, 1, 243), { machine: 'riscv64', bits: 64, endian: 'little' }],
    ['s390x (big-endian)', elf(2, 2, 22), { machine: 's390x', bits: 64, endian: 'big' }],
    ['ppc64 big-endian is not ppc64le', elf(2, 2, 21 - 1), { machine: 'e_machine 20', bits: 64, endian: 'big' }],
    ['an unknown machine', elf(2, 1, 9999), { machine: 'e_machine 9999', bits: 64, endian: 'little' }],
  ])('%s', (_n, head, want) => expect(elfInfo(head)).toEqual(want));

  it.each([
    ['a shell script', new TextEncoder().encode('#!/bin/sh\necho hello world, this is long enough\n')],
    ['too short', elf(2, 1, 62, 19)],
    ['bad class', elf(3, 1, 62)],
    ['bad data', elf(2, 0, 62)],
    ['empty', new Uint8Array()],
  ])('not ELF: %s', (_n, head) => expect(elfInfo(head)).toBeUndefined());

  it.each([
    ['x64', 'x86_64'],
    ['arm64', 'aarch64'],
    ['arm', 'arm'],
    ['mips', undefined],
  ])('hostMachine(%s) = %s', (arch, want) => expect(hostMachine(arch)).toBe(want));
});

// as qemu-user-static / binfmt-support register them (update-binfmts --display, /proc/sys/fs/binfmt_misc/qemu-*)
const AARCH64_MAGIC = 'magic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff';
const ARM_MAGIC = 'magic 7f454c4601010100000000000000000002002800\nmask ffffffffffffff00fffffffffffffffffeffffff';
const entry = (name: string, flags: string, magic: string, state = 'enabled') => parseBinfmtEntry(name, `${state}\ninterpreter /usr/libexec/qemu-binfmt/${name}-binfmt-P\nflags: ${flags}\noffset 0\n${magic}\n`)!;

describe('parseBinfmtEntry: /proc/sys/fs/binfmt_misc/<name>', () => {
  it('a qemu entry: state, interpreter, flags, magic and mask', () => {
    const e = entry('qemu-aarch64', 'POCF', AARCH64_MAGIC);
    expect(e).toMatchObject({ name: 'qemu-aarch64', enabled: true, interpreter: '/usr/libexec/qemu-binfmt/qemu-aarch64-binfmt-P', flags: 'POCF' });
    expect(e.magic!.offset).toBe(0);
    expect(Buffer.from(e.magic!.bytes).toString('hex')).toBe('7f454c460201010000000000000000000200b700');
    expect(Buffer.from(e.magic!.mask).toString('hex')).toBe('ffffffffffffff00fffffffffffffffffeffffff');
  });

  it.each([
    ['disabled', entry('qemu-arm', 'OCF', ARM_MAGIC, 'disabled'), { enabled: false, flags: 'OCF' }],
    ['no flags', parseBinfmtEntry('x', 'enabled\ninterpreter /i\nflags: \noffset 0\nmagic 7f454c46\n'), { flags: '', magic: { offset: 0 } }],
    ['an extension entry', parseBinfmtEntry('mono', 'enabled\ninterpreter /usr/bin/mono\nflags: \nextension .exe\n'), { extension: '.exe', interpreter: '/usr/bin/mono' }],
    ['a magic at an offset, no mask (all bits)', parseBinfmtEntry('o', 'enabled\ninterpreter /i\nflags: F\noffset 4\nmagic 0201\n'), { magic: { offset: 4 } }],
  ])('%s', (_n, e, want) => expect(e).toMatchObject(want));

  it('an extension entry never matches by content', () => {
    const e = parseBinfmtEntry('mono', 'enabled\ninterpreter /usr/bin/mono\nflags: F\nextension .exe\n')!;
    expect(e.magic).toBeUndefined();
    expect(entryMatches(e, new Uint8Array(64))).toBe(false);
  });

  it.each([
    ['the status file', 'enabled\n'],
    ['the register file', ''],
    ['odd hex', 'enabled\ninterpreter /i\nflags: F\noffset 0\nmagic 7f4\n'],
    ['a mask of another length', 'enabled\ninterpreter /i\nflags: F\noffset 0\nmagic 7f45\nmask ff\n'],
    ['no magic or extension', 'enabled\ninterpreter /i\nflags: F\n'],
    ['garbage', 'hello\n'],
  ])('not an entry: %s', (_n, text) => expect(parseBinfmtEntry('x', text)).toBeUndefined());
});

describe('interpreterFor / entryMatches: what binfmt_misc would run an executable with', () => {
  const aarch64 = elf(2, 1, 183);
  const arm = elf(1, 1, 40);
  const amd64 = elf(2, 1, 62);
  const withF = entry('qemu-aarch64', 'POCF', AARCH64_MAGIC);

  it.each([
    ['aarch64 by the aarch64 entry', withF, aarch64, true],
    ['not x86_64', withF, amd64, false],
    ['not arm', withF, arm, false],
    ['arm by the arm entry', entry('qemu-arm', 'OCF', ARM_MAGIC), arm, true],
    ['the masked byte (EI_OSABI) may differ', withF, (() => { const h = elf(2, 1, 183); h[7] = 3; return h; })(), true],
    ['a header shorter than the magic', withF, aarch64.subarray(0, 10), false],
  ])('%s', (_n, e, head, want) => expect(entryMatches(e as BinfmtEntry, head)).toBe(want));

  it.each<[string, 'enabled' | 'disabled' | 'absent', BinfmtEntry[], RegExp | 'ok']>([
    ['an enabled entry with F', 'enabled', [entry('qemu-arm', 'OCF', ARM_MAGIC), withF], 'ok'],
    ['binfmt_misc not mounted', 'absent', [withF], /not mounted/],
    ['binfmt_misc disabled', 'disabled', [withF], /disabled/],
    ['no entry for it', 'enabled', [entry('qemu-arm', 'OCF', ARM_MAGIC)], /no binfmt_misc entry is registered for it/],
    ['its entry without F', 'enabled', [entry('qemu-aarch64', 'POC', AARCH64_MAGIC)], /qemu-aarch64 \(interpreter \/usr\/libexec\/qemu-binfmt\/qemu-aarch64-binfmt-P, flags "POC"\) lacks the F flag/],
    ['its entry disabled', 'enabled', [entry('qemu-aarch64', 'POCF', AARCH64_MAGIC, 'disabled')], /entry is disabled: qemu-aarch64/],
  ])('%s', (_n, status, entries, want) => {
    const v = interpreterFor(status, entries, aarch64);
    if (want === 'ok') expect(v).toEqual({ ok: true, entry: withF });
    else expect(v.ok ? 'ok' : v.reason).toMatch(want);
  });
});

describe('archVerdict: native, through binfmt with F, or refused with the fix', () => {
  const probe = (head: Uint8Array) => ({ path: '/bin/sh', head, elf: elfInfo(head)! });
  const none = { status: 'enabled' as const, entries: [] };
  it.each([
    ['x86_64 on x86_64', 'x86_64', elf(2, 1, 62)],
    ['i386 on x86_64', 'x86_64', elf(1, 1, 3)],
    ['aarch64 on aarch64', 'aarch64', elf(2, 1, 183)],
    ['arm on aarch64', 'aarch64', elf(1, 1, 40)],
  ] as const)('native: %s', (_n, host, head) => expect(archVerdict(host, probe(head), none)).toEqual({ how: 'native' }));

  it('aarch64 on x86_64 with qemu-aarch64 (F): through binfmt', () => {
    const e = entry('qemu-aarch64', 'POCF', AARCH64_MAGIC);
    expect(archVerdict('x86_64', probe(elf(2, 1, 183)), { status: 'enabled', entries: [e] })).toEqual({ how: 'binfmt', entry: e });
  });

  it.each([
    ['aarch64 on x86_64', 'x86_64', elf(2, 1, 183), /a aarch64 \(arm64\) program and this host is x86_64/],
    ['arm on x86_64', 'x86_64', elf(1, 1, 40), /a arm \(armhf\/armel\) program and this host is x86_64/],
    ['x86_64 on aarch64', 'aarch64', elf(2, 1, 62), /a x86_64 \(amd64\) program and this host is aarch64/],
  ] as const)('refused: %s', (_n, host, head, msg) => {
    let err: unknown;
    try {
      archVerdict(host, probe(head), none);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExecRefusedError);
    expect((err as ExecRefusedError).message).toMatch(msg);
    expect((err as ExecRefusedError).hint).toContain(BINFMT_FIX);
  });
});
