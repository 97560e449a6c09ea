/** How `flow plan` and `flow show` print params and step outputs on the terminal (src/cli/field-text.ts). */
import { describe, expect, it } from 'vitest';
import { fieldsText, paramText } from '../../../src/cli/field-text.js';

describe('paramText', () => {
  it.each([
    ['a new file: its path, then what flow found (nothing null)', 'file', { path: '/srv/a.img', identity: null, size: 0, filesystem: null, 'filesystem-size': 0, attached: null, 'attached-read-write': null, room: 270553174016 }, '/srv/a.img  size=0 filesystem-size=0 room=270553174016'],
    [
      'an existing file: its identity in line, sizes in units when whole',
      'file',
      { path: '/srv/b.img', identity: { dev: '254:0', ino: 12, birth: '1796486145805316729' }, size: 33554432, filesystem: 'ext4', 'filesystem-size': 33554432, attached: '/dev/loop3', 'attached-read-write': null },
      '/srv/b.img  dev=254:0 ino=12 birth=1796486145805316729 size=33554432 (32M) filesystem=ext4 filesystem-size=33554432 (32M) attached=/dev/loop3',
    ],
    ['a mount point to make: the directories as a list', 'mountpoint', { path: '/run/flow/x/mnt', exists: false, create: ['/run/flow/x', '/run/flow/x/mnt'] }, '/run/flow/x/mnt  exists=false create=/run/flow/x,/run/flow/x/mnt'],
    ['a record with nothing found: its path alone', 'file', { path: '/srv/c.img', identity: null }, '/srv/c.img'],
    ['a size', 'size', 67108864, '67108864 (64M)'],
    ['a size that is no whole unit', 'size', 67108865, '67108865'],
    ['a count named size-like but small', 'cow-size', 512, '512'],
    ['a plain number', 'delay', 100, '100'],
    ['a string', 'name', 'flow-x', 'flow-x'],
    ['a boolean', 'mount', true, 'true'],
  ])('%s', (_what, key, value, text) => {
    expect(paramText(key, value)).toBe(text);
  });
});

describe('fieldsText', () => {
  it('a step\'s outputs: words as they are, lists of made paths as their paths, nulls left out', () => {
    expect(fieldsText({ device: '/dev/loop0', majmin: '7:0', readOnly: false, diskseq: 1 })).toBe('device=/dev/loop0 majmin=7:0 readOnly=false diskseq=1');
    expect(fieldsText({ dirs: ['/a', '/a/b'], made: [{ path: '/a', dev: '254:0', ino: 1 }, { path: '/a/b', dev: '254:0', ino: 2 }] })).toBe('dirs=/a,/a/b made=/a,/a/b');
    expect(fieldsText({ uuid: 'u', gone: null })).toBe('uuid=u');
  });

  it('what has no plainer form stays JSON (a list of mixed things)', () => {
    expect(fieldsText({ mixed: [1, { a: 2 }] })).toBe('mixed=[1,{"a":2}]');
  });
});
