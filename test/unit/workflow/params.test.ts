/**
 * The built-in files' params accept exactly the values today's options accept (the
 * preflights in src/preflight/ with src/preflight/values.ts), with the same messages where
 * the same parser is used.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { checkDmName, parseInteger, parseSize } from '../../../src/preflight/values.js';
import { loadText } from '../../../src/workflow/load.js';
import { optionKey, parseScalarParam, type ParamDef } from '../../../src/workflow/params.js';
import { givenOf } from '../../../src/preflight/workflow.js';
import { Command } from 'commander';

const param = (wf: string, name: string): ParamDef => {
  const w = loadText(readFileSync(new URL(`../../../machines/${wf}.yaml`, import.meta.url), 'utf8'), wf);
  return w.params.find(([n]) => n === name)![1];
};

function outcome(f: () => unknown): { ok: unknown } | { refused: string } {
  try {
    return { ok: f() };
  } catch (err) {
    if (err instanceof UsageError) return { refused: err.message };
    throw err;
  }
}
const verdict = (o: { ok: unknown } | { refused: string }) => ('ok' in o ? o : 'refused');

/** --chunk of snapshot-image as format 1 checked it (test/support/format1/snapshot-image.ts). */
function todayChunk(raw: string): number {
  const chunk = parseInteger('--chunk', raw, 0, 2 ** 21);
  if (chunk < 8) throw new UsageError('too small');
  if ((chunk & (chunk - 1)) !== 0) throw new UsageError('not a power of two');
  return chunk;
}

const NAMES = ['flow-x', 'a', 'A_b.c:d=e@f#g+h', '-x', 'x-', '.', '..', '...', '.x', 'a b', 'a\nb', 'a\tb', 'é', 'a/b', '', 'x'.repeat(122), 'x'.repeat(123), 'x'.repeat(127), 'x'.repeat(128)];
const SIZES = ['1G', '8M', '4M', '4097', '8392704', '12K', '0', '-1', '1P', '2P', 'abc', '512MiB', '1.5G', ' 16M', '1024T'];
const INTS = ['0', '1', '100', '60000', '60001', '-1', '1.5', 'x', '', '007'];
const CHUNKS = ['16', '8', '4', '12', '2097152', '4194304', '0', '-16', 'x'];

describe('params of the built-in files = today\'s options', () => {
  test.each(NAMES)('delayed-device --name %j', (v) => {
    expect(verdict(outcome(() => parseScalarParam('name', param('delayed-device', 'name'), v, '/')))).toEqual(verdict(outcome(() => checkDmName('--name', v))));
  });
  test.each(NAMES)('snapshot-image --name %j (room for -base)', (v) => {
    expect(verdict(outcome(() => parseScalarParam('name', param('snapshot-image', 'name'), v, '/')))).toEqual(verdict(outcome(() => checkDmName('--name', v, '-base'.length))));
  });
  test.each(SIZES)('delayed-device --size %j', (v) => {
    expect(outcome(() => parseScalarParam('size', param('delayed-device', 'size'), v, '/'))).toEqual(outcome(() => parseSize('--size', v, { multipleOf: 4096, why: 'the filesystem block size', min: 8 * 1024 * 1024 })));
  });
  test.each(SIZES)('snapshot-image --size %j and --cow-size', (v) => {
    expect(outcome(() => parseScalarParam('size', param('snapshot-image', 'size'), v, '/'))).toEqual(outcome(() => parseSize('--size', v, { multipleOf: 512 })));
    expect(outcome(() => parseScalarParam('cow-size', param('snapshot-image', 'cow-size'), v, '/'))).toEqual(outcome(() => parseSize('--cow-size', v, { multipleOf: 4096, why: 'the zram page size' })));
  });
  test.each(INTS)('delayed-device --delay, --read-delay, --write-delay %j', (v) => {
    for (const name of ['delay', 'read-delay', 'write-delay']) {
      expect(verdict(outcome(() => parseScalarParam(name, param('delayed-device', name), v, '/')))).toEqual(verdict(outcome(() => parseInteger(`--${name}`, v, 0, 60_000))));
    }
  });
  test.each(CHUNKS)('snapshot-image --chunk %j', (v) => {
    expect(verdict(outcome(() => parseScalarParam('chunk', param('snapshot-image', 'chunk'), v, '/')))).toEqual(verdict(outcome(() => todayChunk(v))));
  });
  test('switches take no value; valued options need one', () => {
    expect(parseScalarParam('sync', param('delayed-device', 'sync'), false, '/')).toBe(false);
    expect(() => parseScalarParam('sync', param('delayed-device', 'sync'), 'no', '/')).toThrow(/--sync is a switch.*/);
    expect(() => parseScalarParam('delay', param('delayed-device', 'delay'), true, '/')).toThrow('--delay needs a value');
  });
});

describe('param names and commander option keys: one conversion (optionKey)', () => {
  const NAMES = ['file', 'cow-size', 'read-delay', 'disk-2', 'a-b-c', 'x1-y'];
  test.each(NAMES)('%s: the key commander gives --%s', (name) => {
    const opts = new Command().option(`--${name} <v>`).parse(['node', 'flow', `--${name}`, 'v']).opts();
    expect(Object.keys(opts)).toEqual([optionKey(name)]);
    expect(optionKey(`--${name}`)).toBe(optionKey(name));
  });

  test('givenOf finds every param among the options, also one whose name has a digit after a dash', () => {
    const names = ['disk-2', 'read-delay', 'mount'];
    const raw = new Command().option('--disk-2 <v>').option('--read-delay <v>').option('--no-mount').parse(['node', 'flow', '--disk-2', '8M', '--read-delay', '5', '--no-mount']).opts();
    expect(givenOf(raw, names)).toEqual({ 'disk-2': '8M', 'read-delay': '5', mount: false });
  });
});
