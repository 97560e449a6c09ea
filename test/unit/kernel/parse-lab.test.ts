/**
 * The parsers and the error table on real device-mapper output captured in the VM lab
 * (test/fixtures/captured/lab/, written by the kernel lab's capture; Debian 6.1 kernel,
 * dm driver 4.47.0, dmsetup 1.02.185). The captures are committed: a missing one fails its test.
 */
import { describe, expect, it } from 'vitest';
import { codeFromStderr } from '../../../src/kernel/parse/error-code.js';
import { parseTableOutput, tablesEqual } from '../../../src/kernel/parse/dm-table.js';
import { parseDmInfo, parseDmTargets } from '../../../src/kernel/parse/dmsetup.js';
import { parseLosetupJson } from '../../../src/kernel/parse/losetup.js';
import { parseSnapshotStatus } from '../../../src/kernel/parse/snapshot-status.js';
import { hasLab, lab } from './fixture.js';

/** The table given to `dmsetup create ... --table TABLE` for capture step `step` (from exit-codes.txt). */
function intendedTable(step: string): string | undefined {
  const line = lab('exit-codes.txt')
    .split('\n')
    .find((l) => l.startsWith(`${step}: exit 0:`));
  return line?.split(' --table ')[1];
}

describe('dmsetup info -c (lab)', () => {
  it('decodes live, inactive-only, table-less, suspended, read-only and UUID-less devices', () => {
    const rows = parseDmInfo(lab('dmsetup-info-c.txt'));
    const by = (suffix: string) => rows.find((d) => d.name.endsWith(suffix));
    expect(by('-half')).toMatchObject({ attr: '---w', live: false, inactive: false, suspended: false });
    expect(by('-inact')).toMatchObject({ live: false, inactive: true });
    expect(by('-susp')).toMatchObject({ live: true, suspended: true });
    expect(by('-nouuid')).toMatchObject({ uuid: '', live: true });
    expect(by('-base')).toMatchObject({ live: true, readOnly: true, open: 1, major: 253 });
  });

  for (const file of ['dmsetup-info-c-none.txt', 'dmsetup-info-c-end.txt']) {
    it(`${file} → []`, () => {
      expect(parseDmInfo(lab(file))).toEqual([]);
    });
  }

  it('info -c -u UUID prints one row', () => {
    expect(parseDmInfo(lab('dmsetup-info-c-by-uuid.txt'))).toHaveLength(1);
  });
});

describe('dmsetup table / status (lab)', () => {
  for (const step of ['delay', 'delay6', 'flakey']) {
    it(`the ${step} table reads back equal to the one given`, () => {
      const given = intendedTable(`dmsetup-create-${step}`);
      expect(given).toBeDefined();
      expect(tablesEqual(parseTableOutput(lab(`dmsetup-table-${step}.txt`)), [given!])).toBe(true);
    });
  }

  it('linear + zero: two segments, devices as major:minor', () => {
    const t = parseTableOutput(lab('dmsetup-table-linear-zero.txt'));
    expect(t).toHaveLength(2);
    expect(t[0]).toMatch(/^0 \d+ linear \d+:\d+ \d+$/);
    expect(t[1]).toMatch(/^\d+ \d+ zero$/);
  });

  for (const file of ['dmsetup-table-no-live.txt', 'dmsetup-table-inactive-only.txt', 'dmsetup-status-no-live.txt']) {
    it(`${file} (no live table) → []`, () => {
      expect(parseTableOutput(lab(file))).toEqual([]);
    });
  }

  for (const [file, state] of [
    ['dmsetup-status-snapshot-active.txt', 'active'],
    ['dmsetup-status-snapshot-written.txt', 'active'],
    ['dmsetup-status-snapshot-po.txt', 'active'],
    ['dmsetup-status-snapshot-invalid.txt', 'invalid'],
    ['dmsetup-status-snapshot-overflow.txt', 'overflow'],
  ] as const) {
    it(`${file} → ${state}`, () => {
      const lines = parseTableOutput(lab(file));
      expect(lines).toHaveLength(1);
      const s = parseSnapshotStatus(lines[0]!);
      expect(s.state).toBe(state);
      if (s.state === 'active') expect(s.allocatedSectors).toBeLessThanOrEqual(s.totalSectors);
    });
  }

  it('a written snapshot reports allocated sectors', () => {
    const s = parseSnapshotStatus(parseTableOutput(lab('dmsetup-status-snapshot-written.txt'))[0]!);
    expect(s.state === 'active' && s.allocatedSectors > 0).toBe(true);
  });

  it('targets: the ones flow uses are loaded', () => {
    const names = parseDmTargets(lab('dmsetup-targets.txt')).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['linear', 'zero', 'error', 'delay', 'snapshot', 'flakey']));
  });
});

describe('error codes of real dmsetup/mount failures (lab)', () => {
  for (const [file, code] of [
    ['dmsetup-create-taken.stderr', 'EBUSY'],
    ['dmsetup-create-dup-uuid.stderr', 'EBUSY'],
    ['dmsetup-remove-busy.stderr', 'EBUSY'],
    ['dmsetup-remove-busy-retry.stderr', 'EBUSY'],
    ['dmsetup-remove-busy-stacked.stderr', 'EBUSY'],
    ['dmsetup-info-missing.stderr', 'ENXIO'],
    ['dmsetup-info-c-missing.stderr', 'ENXIO'],
    ['dmsetup-status-missing.stderr', 'ENXIO'],
    ['dmsetup-table-missing.stderr', 'ENXIO'],
    ['dmsetup-remove-missing.stderr', 'ENXIO'],
    ['dmsetup-remove-missing-uuid.stderr', 'ENXIO'],
    ['dmsetup-resume-missing.stderr', 'ENXIO'],
    ['dmsetup-create-bad-table.stderr', 'ENXIO'],
    ['dmsetup-create-bad-path.stderr', 'ENXIO'],
    ['dmsetup-create-bad-args.stderr', 'EINVAL'],
    ['dmsetup-create-bad-target.stderr', 'EINVAL'],
    ['dmsetup-create-bad-length.stderr', 'EINVAL'],
    ['dmsetup-create-empty-name.stderr', 'EINVAL'],
    ['mount-bad-block-size.stderr', 'EINVAL'],
    ['zram-reset-busy.txt.stderr', 'EBUSY'],
    ['zram-hot-remove-busy.txt.stderr', 'EBUSY'],
  ] as const) {
    it(`${file} → ${code}`, () => {
      expect(codeFromStderr(lab(file))).toBe(code);
    });
  }
});

describe('losetup in the lab guest', () => {
  it('a loop detached while dm holds it stays, with autoclear', () => {
    const loops = parseLosetupJson(lab('losetup-list-held.json'));
    expect(loops.some((l) => l.autoclear && l.readOnly)).toBe(true);
    expect(loops.every((l) => /^\d+:\d+$/.test(l.majmin) && /^\d+:\d+$/.test(l.backingDev))).toBe(true);
  });
});
