/** pi-image's reading of an image's /etc/fstab and partition names (src/preflight/fstab.ts), and sfdisk's ids. */
import { describe, expect, test } from 'vitest';
import { parseSfdiskJson } from '../../../src/kernel/parse/sfdisk.js';
import { entryAt, parseFstab, partitionFor, partuuidOf } from '../../../src/preflight/fstab.js';
import { captured } from '../kernel/fixture.js';

/** where Raspberry Pi OS mounts its boot partition: pi-image's `fstab: places:` (machines/pi-image.yaml) */
const PI_BOOT = ['/boot/firmware', '/boot'];

const BOOKWORM = `proc            /proc           proc    defaults          0       0
PARTUUID=5452574f-01  /boot/firmware  vfat    defaults          0       2
PARTUUID=5452574f-02  /               ext4    defaults,noatime  0       1
# a swapfile is not a swap partition, so no using swapon|off from here on, use  dphys-swapfile swap[on|off]  for that
`;

describe('pi-image: fstab', () => {
  test('Raspberry Pi OS Bookworm: the boot partition by PARTUUID at /boot/firmware', () => {
    const e = parseFstab(BOOKWORM);
    expect(e.map((x) => x.target)).toEqual(['/proc', '/boot/firmware', '/']);
    expect(entryAt(e, PI_BOOT)).toEqual({ spec: 'PARTUUID=5452574f-01', target: '/boot/firmware', type: 'vfat' });
  });

  test('older images: /boot, LABEL=, octal escapes, trailing slashes; --boot-at picks its own entry', () => {
    const e = parseFstab('LABEL=boot\\040fs /boot/ vfat defaults 0 2\n/dev/mmcblk0p3 /data ext4 defaults 0 2\n');
    expect(entryAt(e, PI_BOOT)).toEqual({ spec: 'LABEL=boot fs', target: '/boot', type: 'vfat' });
    expect(entryAt(e, ['/data'])?.spec).toBe('/dev/mmcblk0p3');
    expect(entryAt(e, ['/boot/firmware'])).toBeUndefined();
    expect(entryAt(parseFstab('# nothing\n\n'), PI_BOOT)).toBeUndefined();
  });

  test('PARTUUID of a DOS partition is the disk id and the number in hex; of a GPT partition its own UUID', () => {
    expect(partuuidOf({ label: 'dos', id: '0x5452574F' }, { number: 1 })).toBe('5452574f-01');
    expect(partuuidOf({ label: 'dos', id: '0xabc' }, { number: 12 })).toBe('00000abc-0c');
    expect(partuuidOf({ label: 'dos' }, { number: 1 })).toBeUndefined();
    const gpt = parseSfdiskJson(captured('sfdisk-gpt.json'));
    expect(partuuidOf(gpt, gpt.partitions[1]!)).toBe('66666666-7777-4888-9999-aaaaaaaaaaaa');
  });

  test('an fstab spec names a partition by PARTUUID, LABEL, UUID or device path; anything else names none', () => {
    const parts = [
      { number: 1, partuuid: '5452574f-01', label: 'bootfs', uuid: '1234-ABCD' },
      { number: 2, partuuid: '5452574f-02', label: 'rootfs', uuid: '11111111-2222-4333-8444-555555555555' },
    ];
    expect(partitionFor('PARTUUID=5452574F-01', parts)?.number).toBe(1);
    expect(partitionFor('LABEL=rootfs', parts)?.number).toBe(2);
    expect(partitionFor('LABEL=ROOTFS', parts)).toBeUndefined();
    expect(partitionFor('UUID=1234-abcd', parts)?.number).toBe(1);
    expect(partitionFor('/dev/mmcblk0p2', parts)?.number).toBe(2);
    expect(partitionFor('/dev/sda1', parts)?.number).toBe(1);
    expect(partitionFor('server:/export', parts)).toBeUndefined();
    expect(partitionFor('PARTUUID=deadbeef-01', parts)).toBeUndefined();
  });
});
