import { describe, expect, it } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { parseLosetupJson } from '../../../src/kernel/parse/losetup.js';
import { captured, handwritten } from './fixture.js';

const IMG = '/tmp/flowcap.XXXXXX/img.raw';
const roPart = {
  device: '/dev/loop0',
  majmin: '7:0',
  backingFile: IMG,
  backingIno: 2146419,
  backingDev: '254:0',
  offset: 9437184,
  sizeLimit: 33554432,
  readOnly: true,
  autoclear: false,
};
const rwWhole = { ...roPart, device: '/dev/loop1', majmin: '7:1', offset: 0, sizeLimit: 0, readOnly: false };

describe('parseLosetupJson (captured, util-linux 2.38.1)', () => {
  it.each([
    ['losetup-list-empty.json', []],
    ['losetup-list.json', [rwWhole, roPart]],
    ['losetup-list-autoclear.json', [rwWhole, { ...roPart, autoclear: true }]],
    ['losetup-list-after-umount.json', [rwWhole]],
  ])('%s', (file, expected) => {
    expect(parseLosetupJson(captured(file))).toEqual(expected);
  });
});

describe('parseLosetupJson (other shapes)', () => {
  it('reads the all-strings JSON of older util-linux ("0"/"1" booleans)', () => {
    expect(parseLosetupJson(handwritten('losetup-list-strings.json'))).toEqual([
      { device: '/dev/loop0', majmin: '7:0', backingFile: '/var/lib/flow/img.raw', backingIno: 131074, backingDev: '8:1', offset: 4194304, sizeLimit: 0, readOnly: true, autoclear: false },
      { device: '/dev/loop1', majmin: '7:1', backingFile: '/var/lib/flow/cow.raw (deleted)', backingIno: 131075, backingDev: '8:1', offset: 0, sizeLimit: 1048576, readOnly: false, autoclear: true },
    ]);
  });

  it.each([[''], ['\n'], ['No loop devices\n']])('treats %j as no devices', (text) => {
    expect(parseLosetupJson(text)).toEqual([]);
  });

  it.each([['{'], ['{"x": []}'], ['{"loopdevices":[{"name":"/dev/loop0","offset":"abc"}]}'], ['{"loopdevices":[{"name":"/dev/loop0","ro":"maybe"}]}']])(
    'rejects %j with EFAIL',
    (text) => {
      expect(() => parseLosetupJson(text)).toThrow(KernelError);
    },
  );
});
