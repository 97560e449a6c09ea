/** Device-mapper tables from structured segments: no value can add a segment, an argument or an option. */
import { describe, expect, test } from 'vitest';
import { renderTable, type EvaluatedSegment } from '../../../src/workflow/dm-table.js';
import { loadText } from '../../../src/workflow/load.js';
import { instantiate, ResolveError } from '../../../src/workflow/resolve.js';

const seg = (target: string, sectors: unknown, fields: Record<string, unknown> = {}) => ({ target, sectors, fields }) as EvaluatedSegment;

describe('renderTable', () => {
  test.each<[string, EvaluatedSegment[], string[]]>([
    ['linear + zero, contiguous', [seg('linear', 98304, { device: '7:0', offset: 24576 }), seg('zero', 163840)], ['0 98304 linear 7:0 24576', '98304 163840 zero']],
    ['delay, short form', [seg('delay', 2048, { device: '7:1', offset: 0, delay: 100 })], ['0 2048 delay 7:1 0 100']],
    ['delay, same write side given explicitly', [seg('delay', 2048, { device: '7:1', offset: 0, delay: 100, 'write-delay': 100 })], ['0 2048 delay 7:1 0 100']],
    ['delay, long form', [seg('delay', 2048, { device: '7:1', offset: 0, delay: 0, 'write-delay': 500 })], ['0 2048 delay 7:1 0 0 7:1 0 500']],
    ['delay, writes to another device', [seg('delay', 8, { device: '7:1', offset: 0, delay: 5, 'write-device': '/dev/loop2', 'write-offset': 8 })], ['0 8 delay 7:1 0 5 /dev/loop2 8 5']],
    ['snapshot, non-persistent', [seg('snapshot', 262144, { origin: '253:0', cow: '252:1', persistent: false, chunk: 16 })], ['0 262144 snapshot 253:0 252:1 N 16']],
    ['snapshot, persistent', [seg('snapshot', 8, { origin: '253:0', cow: '252:1', persistent: true, chunk: 8 })], ['0 8 snapshot 253:0 252:1 P 8']],
    // the kernel prints the feature count always and the features in its order: `dmsetup table` reads back equal
    ['flakey without features', [seg('flakey', 8, { device: '7:0', offset: 0, up: 5, down: 1 })], ['0 8 flakey 7:0 0 5 1 0']],
    ['flakey with features', [seg('flakey', 8, { device: '7:0', offset: 0, up: 5, down: 1, features: ['drop_writes', 'error_reads'] })], ['0 8 flakey 7:0 0 5 1 2 error_reads drop_writes']],
    ['flakey, always down, error_writes', [seg('flakey', 8, { device: '7:0', offset: 0, up: 0, down: 1, features: ['error_writes'] })], ['0 8 flakey 7:0 0 0 1 1 error_writes']],
    ['snapshot-origin', [seg('snapshot-origin', 16384, { origin: '7:2' })], ['0 16384 snapshot-origin 7:2']],
    ['error then zero', [seg('error', 8), seg('zero', 8)], ['0 8 error', '8 8 zero']],
  ])('%s', (_what, segs, lines) => {
    expect(renderTable(segs)).toEqual(lines);
  });

  test.each<[string, EvaluatedSegment[], RegExp]>([
    ['a device with a second segment in it', [seg('linear', 8, { device: '7:0 0\n8 8 zero', offset: 0 })], /device: "7:0 0\\n8 8 zero" is not a device/],
    ['a device with an extra argument', [seg('linear', 8, { device: '/dev/loop0 0', offset: 0 })], /is not a device/],
    ['a relative device path', [seg('linear', 8, { device: 'loop0', offset: 0 })], /is not a device/],
    ['a device path leaving /dev', [seg('linear', 8, { device: '/etc/passwd', offset: 0 })], /is not a device/],
    ['an option as a device', [seg('linear', 8, { device: '--help', offset: 0 })], /is not a device/],
    ['a string offset', [seg('linear', 8, { device: '7:0', offset: '0 7:1' })], /offset: "0 7:1" is not a whole number/],
    ['a negative offset', [seg('linear', 8, { device: '7:0', offset: -1 })], /offset: -1 is not a whole number >= 0/],
    ['zero sectors', [seg('zero', 0)], /sectors: 0 is not a positive number/],
    ['a fraction of a sector', [seg('zero', 1.5)], /sectors: 1.5 is not a positive/],
    ['sectors as a string', [seg('zero', '8')], /sectors: "8" is not a positive/],
    ['an unknown feature', [seg('flakey', 8, { device: '7:0', offset: 0, up: 1, down: 1, features: ['corrupt_bio_byte 32 r 1 0'] })], /is not a flakey feature/],
    ['a feature twice', [seg('flakey', 8, { device: '7:0', offset: 0, up: 1, down: 1, features: ['drop_writes', 'drop_writes'] })], /listed twice/],
    ['drop_writes with error_writes', [seg('flakey', 8, { device: '7:0', offset: 0, up: 1, down: 1, features: ['error_writes', 'drop_writes'] })], /exclude each other/],
    ['flakey with no interval', [seg('flakey', 8, { device: '7:0', offset: 0, up: 0, down: 0 })], /up and down are both 0/],
    ['snapshot-origin with a second device', [seg('snapshot-origin', 8, { origin: '7:0 7:1' })], /is not a device/],
    ['persistent as a letter', [seg('snapshot', 8, { origin: '253:0', cow: '252:1', persistent: 'P', chunk: 8 })], /persistent: "P" is not true or false/],
    ['a missing field', [seg('linear', 8, { device: '7:0' })], /offset is missing/],
    ['no segment left', [], /no segment/],
  ])('refuses %s', (_what, segs, message) => {
    expect(() => renderTable(segs)).toThrow(message);
  });
});

describe('a param value cannot inject a segment', () => {
  const wf = loadText(
    `name: inject
description: a table from a param
params:
  dev:
    type: string
    description: a device
    required: true
  length:
    type: integer
    description: sectors
    default: 8
steps:
  - name: dm
    kind: dm.create
    title: dm
    with:
      name: x
      table:
        - target: linear
          sectors: \${params.length}
          device: \${params.dev}
          offset: 0
`,
    'inject.yaml',
  );
  const run = { id: 'abcdefgh', dir: '/run/flow', uuid: 'u' };
  test('a plain value renders', () => {
    expect(instantiate(wf, { dev: '7:0', length: 8 }, run).steps[0]!.args({})).toEqual({ name: 'x', uuid: 'FLOW-abcdefgh-dm', table: ['0 8 linear 7:0 0'] });
  });
  test.each(['7:0 0\n8 8 zero', '7:0 0 extra', '7:0\t0', '-u FLOW-other'])('refused: %j', (dev) => {
    expect(() => instantiate(wf, { dev, length: 8 }, run).steps[0]!.args({})).toThrow(ResolveError);
    expect(() => instantiate(wf, { dev, length: 8 }, run).steps[0]!.args({})).toThrow(/step dm: table: segment 1 \(linear\): device: .* is not a device/);
  });
  test('a negative length is refused', () => {
    expect(() => instantiate(wf, { dev: '7:0', length: -8 }, run).steps[0]!.args({})).toThrow(/sectors: -8 is not a positive number/);
  });
});
