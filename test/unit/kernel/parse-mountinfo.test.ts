import { describe, expect, it } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { parseMountinfo, unescapeMountField } from '../../../src/kernel/parse/mountinfo.js';
import { captured, handwritten } from './fixture.js';

const T = '/tmp/flowcap.XXXXXX';

describe('parseMountinfo (captured)', () => {
  const entries = parseMountinfo(captured('mountinfo.txt'));

  it('reads every line', () => {
    expect(entries).toHaveLength(captured('mountinfo.txt').trim().split('\n').length);
    expect(entries[0]).toEqual({ id: 22, parentId: 27, majmin: '0:21', root: '/', target: '/proc', options: ['rw', 'relatime'], fstype: 'proc', source: 'proc' });
  });

  it.each([
    [`${T}/x y`, { fstype: 'tmpfs', source: 'tmpfs', options: ['rw', 'relatime'] }],
    [`${T}/m n`, { fstype: 'ext4', source: '/dev/loop0', majmin: '7:0', options: ['ro', 'relatime'] }],
    [`${T}/t\tb\\s`, { fstype: 'tmpfs', source: 'flow src' }],
    [`${T}/robind`, { fstype: 'ext4', root: `${T}/rodir`, options: ['ro', 'relatime'] }],
  ])('unescapes the mount point %j', (target, expected) => {
    expect(entries.find((e) => e.target === target)).toMatchObject(expected);
  });
});

describe('parseMountinfo (optional fields, hand-written)', () => {
  it('skips optional fields up to the " - " separator', () => {
    expect(parseMountinfo(handwritten('mountinfo-optional-fields.txt'))).toEqual([
      { id: 36, parentId: 35, majmin: '98:0', root: '/mnt1', target: '/mnt/parent', options: ['rw', 'noatime'], fstype: 'ext3', source: '/dev/root' },
      { id: 412, parentId: 27, majmin: '253:1', root: '/', target: '/run/flow/k3x9mz2p/mnt', options: ['rw', 'relatime'], fstype: 'ext4', source: '/dev/mapper/flow-k3x9mz2p-snap' },
      { id: 413, parentId: 27, majmin: '0:52', root: '/', target: '/srv/a\\b\nc', options: ['rw', 'relatime'], fstype: 'tmpfs', source: 'none' },
    ]);
  });

  it('rejects a line without the separator', () => {
    expect(() => parseMountinfo('22 27 0:21 / /proc rw,relatime proc proc rw')).toThrow(KernelError);
  });

  it.each([
    ['a\\040b', 'a b'],
    ['a\\011b', 'a\tb'],
    ['a\\012b', 'a\nb'],
    ['a\\134b', 'a\\b'],
    ['plain', 'plain'],
  ])('unescapeMountField(%j) = %j', (raw, out) => {
    expect(unescapeMountField(raw)).toBe(out);
  });
});
