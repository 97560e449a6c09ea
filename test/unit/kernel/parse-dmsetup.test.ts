import { describe, expect, it } from 'vitest';
import { KernelError } from '../../../src/errors.js';
import { checkTableLine, normalizeTableLine, parseTableOutput, tablesEqual } from '../../../src/kernel/parse/dm-table.js';
import { decodeDmAttr, parseDmCreated, parseDmInfo, parseDmTargets } from '../../../src/kernel/parse/dmsetup.js';
import { parseSnapshotStatus } from '../../../src/kernel/parse/snapshot-status.js';
import { handwritten } from './fixture.js';

describe('parseDmInfo', () => {
  it('reads every device of info -c (name;uuid;attr;open;major;minor)', () => {
    const list = parseDmInfo(handwritten('dmsetup-info-c.txt'));
    expect(list.map((d) => [d.name, d.uuid, d.attr, d.live, d.inactive, d.suspended, d.readOnly, d.open, d.major, d.minor])).toEqual([
      ['flow-k3x9mz2p-base', 'FLOW-k3x9mz2p-base', 'L--w', true, false, false, false, 1, 253, 0],
      ['flow-k3x9mz2p-snap', 'FLOW-k3x9mz2p-snap', 'L--w', true, false, false, false, 1, 253, 1],
      ['flow-k3x9mz2p-half', 'FLOW-k3x9mz2p-half', '---w', false, false, false, false, 0, 253, 2],
      ['flow-k3x9mz2p-inact', 'FLOW-k3x9mz2p-inact', '-I-w', false, true, false, false, 0, 253, 3],
      ['flow-k3x9mz2p-susp', 'FLOW-k3x9mz2p-susp', 'LIsr', true, true, true, true, 0, 253, 4],
      ['vg0-root', '', 'L--w', true, false, false, false, 1, 253, 5],
    ]);
  });

  it.each([['dmsetup-info-c-none.txt'], ['dmsetup-table-no-live.txt']])('%s → []', (file) => {
    expect(parseDmInfo(handwritten(file))).toEqual([]);
  });

  it.each([['a;b;L--w;0;253'], ['a;b;XX;0;253;0'], ['a;b;L--w;x;253;0']])('rejects %j', (line) => {
    expect(() => parseDmInfo(line)).toThrow(KernelError);
  });

  it.each([
    ['L--w', { live: true, inactive: false, suspended: false, readOnly: false }],
    ['-I-w', { live: false, inactive: true, suspended: false, readOnly: false }],
    ['L-sr', { live: true, inactive: false, suspended: true, readOnly: true }],
  ])('decodes attr %s', (attr, expected) => {
    expect(decodeDmAttr(attr)).toEqual(expected);
  });
});

describe('parseDmTargets', () => {
  it('reads name and version (without the v)', () => {
    const t = parseDmTargets(handwritten('dmsetup-targets.txt'));
    expect(t).toContainEqual({ name: 'linear', version: '1.4.0' });
    expect(t).toContainEqual({ name: 'snapshot', version: '1.16.0' });
    expect(t.map((x) => x.name)).toEqual(['snapshot-merge', 'snapshot-origin', 'snapshot', 'flakey', 'delay', 'zero', 'striped', 'linear', 'error']);
  });
});

describe('dm tables', () => {
  it.each([
    ['dmsetup-table-linear-zero.txt', ['0 3534848 linear 7:0 94208', '3534848 6950912 zero']],
    ['dmsetup-table-snapshot.txt', ['0 10485760 snapshot 253:0 252:0 N 16']],
    ['dmsetup-table-delay.txt', ['0 2097152 delay 7:0 0 100']],
    ['dmsetup-table-no-live.txt', []],
    ['dmsetup-status-linear-zero.txt', ['0 3534848 linear', '3534848 6950912 zero']],
  ])('parseTableOutput(%s)', (file, lines) => {
    expect(parseTableOutput(handwritten(file))).toEqual(lines);
  });

  it('compares tables after collapsing whitespace and trailing spaces', () => {
    const live = parseTableOutput(handwritten('dmsetup-table-linear-zero.txt'));
    expect(tablesEqual(live, ['0  3534848 linear\t7:0 94208 ', '3534848 6950912 zero'])).toBe(true);
    expect(tablesEqual(live, ['0 3534848 linear 7:0 94208'])).toBe(false);
    expect(tablesEqual(live, ['0 3534848 linear 7:1 94208', '3534848 6950912 zero'])).toBe(false);
    expect(normalizeTableLine('  0   8 zero   ')).toBe('0 8 zero');
  });

  it.each([['0 8 zero\n8 8 error'], ['0 8 zero\r'], ['0 8 zero\0'], ['zero'], ['0 x zero'], ['']])('checkTableLine refuses %j (EINVAL)', (line) => {
    expect(() => checkTableLine(line)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('checkTableLine returns the normalised line', () => {
    expect(checkTableLine(' 0 2097152  delay 7:0 0 100 ')).toBe('0 2097152 delay 7:0 0 100');
    expect(checkTableLine('0 8 zero')).toBe('0 8 zero');
  });
});

describe('parseSnapshotStatus', () => {
  it.each([
    ['dmsetup-status-snapshot-active.txt', { state: 'active', allocatedSectors: 16, totalSectors: 8388608, metadataSectors: 0 }],
    ['dmsetup-status-snapshot-invalid.txt', { state: 'invalid' }],
    ['dmsetup-status-snapshot-overflow.txt', { state: 'overflow' }],
    ['dmsetup-status-snapshot-merge-failed.txt', { state: 'merge-failed' }],
  ])('%s', (file, expected) => {
    expect(parseSnapshotStatus(parseTableOutput(handwritten(file))[0]!)).toEqual(expected);
  });

  it.each([
    ['16/8388608 16', { state: 'active', allocatedSectors: 16, totalSectors: 8388608, metadataSectors: 16 }],
    ['Invalid', { state: 'invalid' }],
    ['Unknown', { state: 'unknown', raw: 'Unknown' }],
    ['0 8 snapshot', { state: 'unknown', raw: '' }],
  ])('target part only: %j', (line, expected) => {
    expect(parseSnapshotStatus(line)).toEqual(expected);
  });
});

describe('parseDmCreated (dmsetup create -v)', () => {
  it('reads the long info dmsetup prints after a create', () => {
    expect(parseDmCreated(handwritten('dmsetup-create-v.txt'))).toEqual({
      name: 'flow-k3x9mz2p-create-delay',
      uuid: 'FLOW-k3x9mz2p-create-delay',
      attr: 'L--w',
      live: true,
      inactive: false,
      suspended: false,
      readOnly: false,
      open: 0,
      major: 253,
      minor: 4,
    });
  });

  it.each([
    ['SUSPENDED (READ-ONLY)', 'LIVE & INACTIVE', 'LIsr'],
    ['ACTIVE', 'INACTIVE', '-I-w'],
    ['ACTIVE (READ-ONLY)', 'None', '---r'],
  ])('state %s, tables %s → attr %s', (state, tables, attr) => {
    const text = handwritten('dmsetup-create-v.txt').replace(/^State:.*$/m, `State:             ${state}`).replace(/^Tables present:.*$/m, `Tables present:    ${tables}`);
    expect(parseDmCreated(text).attr).toBe(attr);
  });

  it('a device without a UUID has uuid ""', () => {
    expect(parseDmCreated(handwritten('dmsetup-create-v.txt').replace(/^UUID:.*\n/m, '')).uuid).toBe('');
  });

  it.each([
    ['no output', ''],
    ['no device number', handwritten('dmsetup-create-v.txt').replace(/^Major, minor:.*\n/m, '')],
    ['an unknown state', handwritten('dmsetup-create-v.txt').replace(/^State:.*$/m, 'State:             FROZEN')],
    ['unknown tables', handwritten('dmsetup-create-v.txt').replace(/^Tables present:.*$/m, 'Tables present:    SOME')],
  ])('rejects %s', (_what, text) => {
    expect(() => parseDmCreated(text)).toThrow(KernelError);
  });
});
