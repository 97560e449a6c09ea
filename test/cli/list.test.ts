/**
 * `flow list` answers from the index without loading the full CLI when every entry is
 * fresh (src/cli/commands/list-fast.ts). Whatever the index holds, the user sees what
 * the run documents say: a stale, lying, malformed, missing or planted index, a run gone
 * or corrupt, all give the listing a rebuild from the documents gives.
 */
import { chmodSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runId, Sandbox } from './harness.js';

let sb: Sandbox;
let a: string;
let b: string;
const index = () => join(sb.stateDir, 'index.json');
const doc = (id: string) => join(sb.stateDir, 'runs', `${id}.json`);
const list = (...args: string[]) => {
  const r = sb.flow(['list', ...args]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
};
/** The listing as a rebuild from the documents alone gives it. */
const rebuilt = (...args: string[]) => {
  rmSync(index(), { force: true });
  return list(...args);
};

beforeEach(() => {
  sb = new Sandbox();
  sb.extImage();
  a = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
  b = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
  expect(sb.flow(['rollback', a]).code).toBe(0);
});
afterEach(() => sb.cleanup());

describe('flow list from the index', () => {
  it('a fresh index: the same listing, text and JSON, and the index is not rewritten', () => {
    const text = rebuilt();
    const json = list('--json');
    expect(text).toMatch(new RegExp(`^ID\\s+WORKFLOW\\s+STATUS\\s+CREATED\\n${a}  loop-mount       rolled-back    \\S+\\n${b}  loop-mount       done           \\S+\\n$`));
    const before = statSync(index(), { bigint: true });
    const bytes = readFileSync(index());
    for (let i = 0; i < 2; i++) {
      expect(list()).toBe(text);
      expect(list('--json')).toBe(json);
      expect(sb.flow(['--state-dir', sb.stateDir, 'list', '--verbose', '--log-format', 'json']).stdout).toBe(text);
      expect(sb.flow([`--state-dir=${sb.stateDir}`, 'list']).stdout).toBe(text);
    }
    const after = statSync(index(), { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([before.ino, before.mtimeNs]);
    expect(readFileSync(index()).equals(bytes)).toBe(true);
  });

  it('an entry whose document changed (size or mtime) is read from the document', () => {
    list();
    const entries = JSON.parse(readFileSync(index(), 'utf8'));
    entries.runs[b].status = 'lying';
    entries.runs[b].docSize += 1; // made from another version of the document
    writeFileSync(index(), JSON.stringify(entries));
    expect(list()).toContain(`${b}  loop-mount       done`);
    entries.runs[b].docSize -= 1;
    entries.runs[b].docMtimeMs -= 1000;
    writeFileSync(index(), JSON.stringify(entries));
    expect(list('--json')).toBe(rebuilt('--json'));
    // and a document touched after indexing
    list();
    const t = new Date(Date.now() + 5000);
    utimesSync(doc(a), t, t);
    expect(list()).toBe(rebuilt());
  });

  it('an index that fails the schema, is not JSON, is empty, has the wrong format, or is a symlink: rebuilt', () => {
    const want = rebuilt();
    const good = JSON.parse(readFileSync(index(), 'utf8'));
    const bad = [
      JSON.stringify({ ...good, runs: { ...good.runs, [b]: { ...good.runs[b], docSize: String(good.runs[b].docSize), status: 'lying' } } }),
      JSON.stringify({ ...good, runs: { ...good.runs, [b]: { ...good.runs[b], key: 7, status: 'lying' } } }),
      JSON.stringify({ ...good, format: 2 }),
      JSON.stringify({ ...good, runs: [] }),
      '{"format":1,"runs":',
      '',
    ];
    for (const text of bad) {
      writeFileSync(index(), text);
      expect(list()).toBe(want);
      expect(JSON.parse(readFileSync(index(), 'utf8'))).toEqual(good); // rebuilt and rewritten
    }
    unlinkSync(index());
    const planted = join(sb.dir, 'planted.json');
    writeFileSync(planted, JSON.stringify({ ...good, runs: { ...good.runs, [b]: { ...good.runs[b], status: 'lying' } } }));
    symlinkSync(planted, index());
    expect(list()).toBe(want);
    expect(JSON.parse(readFileSync(planted, 'utf8')).runs[b].status).toBe('lying'); // the link's target is never written
  });

  it('a run whose document is gone is not listed; a corrupt document is listed as corrupt, every time', () => {
    list();
    unlinkSync(doc(a));
    const text = list();
    expect(text).not.toContain(a);
    expect(text).toContain(b);
    expect(JSON.parse(readFileSync(index(), 'utf8')).runs[a]).toBeUndefined();
    writeFileSync(doc(b), '{"format":1,');
    for (let i = 0; i < 2; i++) {
      const r = sb.flow(['list']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`${b}  \\?\\s+corrupt\\s+.*not JSON`));
    }
  });

  it('errors are the full command\'s: a state directory writable by others', () => {
    list();
    chmodSync(sb.stateDir, 0o777);
    const r = sb.flow(['list']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`chmod 700 ${sb.stateDir}`);
  });
});
