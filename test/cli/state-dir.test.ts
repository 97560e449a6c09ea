/**
 * The state directory under damage and tampering, end to end through the built CLI:
 * corrupt or truncated run documents, documents that fail the schema, events out of order
 * or from an unknown workflow version, a missing or corrupt index, stale temp files,
 * symlinks planted where a state file, lock, temp file or index should be, and
 * directories with unsafe owners or modes. For every case, what list, show, log, resume,
 * rollback and run do: a clear error with the path and the fix (exit 3 for a corrupt
 * journal, 2 for an unusable state directory, src/cli/exit.ts), or a safe repair. A
 * journal is never overwritten (its bytes are compared) and no run is lost.
 *
 * Not here (covered elsewhere): the same cases in the journal alone (test/unit/journal),
 * what doctor reports (test/cli/doctor.test.ts), recover and prune with a corrupt journal
 * (recover.test.ts, prune.test.ts), a symlinked or group/world-writable state directory
 * root (bad-input.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventsOf, format1Bytes } from '../support/journal-files.js';
import { expectRefused, kernelText, listing, runId, Sandbox, type Result } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const EXIT_USAGE = 2;
const EXIT_CORRUPT = 3;

const runsDir = () => join(sb.stateDir, 'runs');
const locksDir = () => join(sb.stateDir, 'locks');
const docPath = (id: string) => join(runsDir(), `${id}.json`);

let mounts = 0;
/** A finished loop-mount run of a fresh image; its id. */
function doneRun(): string {
  const n = ++mounts;
  sb.extImage(`img-${n}.ext4`);
  const r = sb.flow(['run', 'loop-mount', '--file', `img-${n}.ext4`, '--mountpoint', join(sb.dir, `mnt-${n}`)]);
  expect(r.code, r.stderr).toBe(0);
  return runId(r);
}

function ok(r: Result): Result {
  expect(r.code, r.stderr).toBe(0);
  return r;
}

/** Temp files in runs/ and the state directory itself. */
const temps = () => [...readdirSync(runsDir()), ...readdirSync(sb.stateDir)].filter((n) => n.endsWith('.tmp'));

interface Doc {
  format: number;
  id: string;
  events: Record<string, unknown>[];
}

/**
 * Ways a run's journal can be damaged, with what flow must say about it: a format-1
 * document (`text`, `doc`: the run rewritten as older flow wrote it, still read today),
 * or today's log (`log`: its lines; a torn FINAL record is no damage, see test/unit/journal).
 */
const CORRUPTIONS: [string, (text: string, doc: Doc, other: string, log: string[]) => string, RegExp][] = [
  ['a log with a torn middle record', (_t, _d, _o, l) => [l[0], l[1], l[2]!.slice(0, 25), ...l.slice(3)].join('\n'), /line 3: not JSON/],
  ['a log with an invalid middle record', (_t, _d, _o, l) => [l[0], l[1], JSON.stringify({ seq: 1, at: 'x', type: 'StepTeleported' }), ...l.slice(3)].join('\n'), /line 3: does not validate/],
  ['a log with a record lost in the middle', (_t, _d, _o, l) => [l[0], l[1], ...l.slice(3)].join('\n'), /line 3: event 1 has sequence number 2/],
  ["another run's log under this name", (_t, _d, other, l) => [JSON.stringify({ format: 2, id: other }), ...l.slice(1)].join('\n'), /line 1: log id "[a-z2-9]{8}" does not match file name/],
  ['truncated mid-write (half of it)', (t) => t.slice(0, Math.floor(t.length / 2)), /not JSON/],
  ['an empty file', () => '', /empty file/],
  ['binary garbage', () => '\u0000\u00ff\u00fe garbage', /not JSON/],
  ['valid JSON failing the schema (an unknown event type)', (_t, d) => JSON.stringify({ ...d, events: [...d.events, { seq: d.events.length, at: 'x', type: 'StepTeleported' }] }), /does not validate/],
  ['valid JSON failing the schema (a field of the wrong type)', (_t, d) => JSON.stringify({ ...d, events: d.events.map((e, i) => (i === 1 ? { ...e, seq: 'one' } : e)) }), /does not validate/],
  ['valid JSON, not a run document at all', () => JSON.stringify([1, 2, 3]), /does not validate/],
  ['a journal format flow does not know', (_t, d) => JSON.stringify({ ...d, format: 3 }), /does not validate/],
  ["another run's document under this name", (_t, d, other) => JSON.stringify({ ...d, id: other }), /document id "[a-z2-9]{8}" does not match file name/],
  ['events out of order (sequence numbers swapped with them)', (_t, d) => JSON.stringify({ ...d, events: [d.events[0], d.events[2], d.events[1], ...d.events.slice(3)] }), /event 1 has sequence number 2/],
  [
    'events out of order (renumbered: an outcome before its intent)',
    (_t, d) => JSON.stringify({ ...d, events: [d.events[0], d.events[2], d.events[1], ...d.events.slice(3)].map((e, i) => ({ ...e, seq: i })) }),
    /event 1 \(StepSucceeded attach-file\) does not fit the run at this point/,
  ],
  // a run that records its definition needs no workflow of this flow (src/workflow/source.ts): these two are format-1 journals
  ['events from an unknown workflow version', (_t, d) => JSON.stringify({ ...d, events: d.events.map((e, i) => (i === 0 ? { ...e, workflowVersion: 99, definition: undefined } : e)) }), /written by loop-mount version 99; this flow has version 1/],
  ['events from a workflow this flow does not have', (_t, d) => JSON.stringify({ ...d, events: d.events.map((e, i) => (i === 0 ? { ...e, workflow: 'teleport', definition: undefined } : e)) }), /unknown workflow "teleport"/],
  ['a recorded definition that does not match its sha256', (_t, d) => JSON.stringify({ ...d, events: d.events.map((e, i) => (i === 0 ? { ...e, definition: { ...(e.definition as object), sha256: '0'.repeat(64) } } : e)) }), /the recorded workflow definition does not match its sha256/],
  ['a second RunStarted', (_t, d) => JSON.stringify({ ...d, events: [...d.events, { ...d.events[0], seq: d.events.length }] }), /RunStarted appears twice/],
];

describe('a damaged run document: reported with its path, never rewritten; the other runs work', () => {
  it.each(CORRUPTIONS.map(([what, make, detail]) => [what, make, detail] as const))('%s', (_w, make, detail) => {
    const bad = doneRun();
    const good = doneRun();
    const log = readFileSync(docPath(bad), 'utf8');
    const text = format1Bytes(bad, eventsOf(Buffer.from(log), bad)).toString('utf8');
    const damaged = make(text, JSON.parse(text) as Doc, good, log.split('\n'));
    writeFileSync(docPath(bad), damaged, { mode: 0o600 });
    const goodBytes = readFileSync(docPath(good));
    const kernelBefore = kernelText(sb);
    const problem = new RegExp(`^flow: journal ${docPath(bad).replace(/[.]/g, '\\.')} is corrupt: .*${detail.source}`);

    // list: the corrupt run is there, with why; the others as usual (exit 0: the listing worked)
    const list = ok(sb.flow(['list']));
    expect(list.stdout).toMatch(new RegExp(`^${bad} +\\? +corrupt +journal ${docPath(bad)} is corrupt: .*${detail.source}`, 'm'));
    expect(list.stdout).toMatch(new RegExp(`^${good} +loop-mount +done `, 'm'));
    const json = JSON.parse(ok(sb.flow(['list', '--json'])).stdout) as { id: string; status: string; error?: string }[];
    expect(json.find((r) => r.id === bad)).toEqual({ id: bad, status: 'corrupt', error: expect.stringContaining(docPath(bad)) });
    expect(json.find((r) => r.id === good)?.status).toBe('done');

    // show, log, resume, rollback: exit 3, the path, what was wrong, what to do; nothing acted on
    for (const cmd of ['show', 'log', 'resume', 'rollback']) {
      const r = sb.flow([cmd, bad]);
      expectRefused(r, problem, /flow will not touch it\. Inspect or move the file away; other runs are unaffected\./, EXIT_CORRUPT);
    }
    expect(kernelText(sb)).toBe(kernelBefore); // the run's loop device and mount are still there, untouched
    expect(readFileSync(docPath(bad), 'utf8')).toBe(damaged);
    expect(readFileSync(docPath(good)).equals(goodBytes)).toBe(true); // reading never writes
    expect(temps()).toEqual([]);

    // a new run and the healthy run's rollback work beside it
    const third = doneRun();
    ok(sb.flow(['rollback', good]));
    expect(JSON.parse(ok(sb.flow(['show', third, '--json'])).stdout).status).toBe('done');
    expect(readFileSync(docPath(bad), 'utf8')).toBe(damaged); // never rewritten, never removed
    expect(JSON.parse(ok(sb.flow(['show', good, '--json'])).stdout).status).toBe('rolled-back');
  });

  it('run --key: a corrupt journal that may hold the key stops the run (exit 3, said once); one that cannot is passed over', () => {
    const bad = doneRun();
    const text = readFileSync(docPath(bad), 'utf8');
    writeFileSync(docPath(bad), text.slice(0, 100));
    sb.extImage('k.ext4');
    const r = sb.flow(['run', 'loop-mount', '--file', 'k.ext4', '--key', 'ci-1']);
    // the log's RunStarted is torn: no key to read
    expectRefused(r, new RegExp(`^flow: journal ${docPath(bad)} is corrupt: the log holds no complete RunStarted; it may be the run with --key "ci-1"$`), /Inspect or move the file away/, EXIT_CORRUPT);
    expect(r.stderr.match(/is corrupt/g)).toHaveLength(1);
    expect(sb.runs()).toEqual([`${bad}.json`]);
    // a readable RunStarted that records another key (here: none) cannot be that run
    const lines = text.split('\n');
    writeFileSync(docPath(bad), [lines[0], JSON.stringify({ ...JSON.parse(lines[1]!), workflowVersion: 99 }), ...lines.slice(2)].join('\n'));
    const id = runId(ok(sb.flow(['run', 'loop-mount', '--file', 'k.ext4', '--key', 'ci-1'])));
    expect(id).not.toBe(bad);
  });
});

describe('the index (a cache): missing, corrupt, stale, or not a file: rebuilt from the documents', () => {
  const index = () => join(sb.stateDir, 'index.json');
  const listed = () => JSON.parse(ok(sb.flow(['list', '--json'])).stdout) as { id: string; status: string }[];
  const indexed = () => Object.keys((JSON.parse(readFileSync(index(), 'utf8')) as { runs: Record<string, unknown> }).runs).sort();

  it.each([
    ['missing', () => rmSync(index())],
    ['truncated', () => writeFileSync(index(), readFileSync(index(), 'utf8').slice(0, 40))],
    ['valid JSON failing its schema', () => writeFileSync(index(), JSON.stringify({ format: 1, runs: { x: 1 } }))],
    ['listing a run that does not exist, missing one that does', () => {
      const doc = JSON.parse(readFileSync(index(), 'utf8')) as { runs: Record<string, Record<string, unknown>> };
      const [first] = Object.keys(doc.runs);
      doc.runs.zzzzzzzz = { ...doc.runs[first!]!, id: 'zzzzzzzz' };
      delete doc.runs[first!];
      writeFileSync(index(), JSON.stringify(doc));
    }],
    ['claiming another status than the document (the document changed since)', () => {
      const doc = JSON.parse(readFileSync(index(), 'utf8')) as { runs: Record<string, Record<string, unknown>> };
      for (const r of Object.values(doc.runs)) Object.assign(r, { status: 'rolled-back', docSize: 1 });
      writeFileSync(index(), JSON.stringify(doc));
    }],
  ] as const)('%s: list is right, and the index is rewritten right', (_w, damage) => {
    const ids = [doneRun(), doneRun()].sort();
    ok(sb.flow(['list']));
    const docs = ids.map((id) => readFileSync(docPath(id)));
    damage();
    expect(listed().map((r) => [r.id, r.status]).sort()).toEqual(ids.map((id) => [id, 'done']));
    expect(indexed()).toEqual(ids);
    expect(lstatSync(index()).mode & 0o777).toBe(0o600);
    expect(ids.map((id) => readFileSync(docPath(id))).every((b, i) => b.equals(docs[i]!))).toBe(true); // the documents are never touched
    expect(temps()).toEqual([]);
  });

  it('a symlink planted as index.json: not followed (its target unchanged), replaced by a real file', () => {
    const id = doneRun();
    const target = join(sb.dir, 'precious');
    writeFileSync(target, 'do not overwrite me');
    rmSync(index(), { force: true });
    symlinkSync(target, index());
    expect(listed().map((r) => r.id)).toEqual([id]);
    expect(readFileSync(target, 'utf8')).toBe('do not overwrite me');
    expect(lstatSync(index()).isFile()).toBe(true);
    expect(indexed()).toEqual([id]);
  });

  it('a directory where index.json should be: list works every time and leaves no temp file behind', () => {
    const id = doneRun();
    rmSync(index(), { force: true });
    mkdirSync(index());
    for (let i = 0; i < 3; i++) expect(listed().map((r) => r.id)).toEqual([id]);
    expect(temps()).toEqual([]);
  });

  it('a symlink planted as the index lock: list works, the target is not touched', () => {
    const id = doneRun();
    const target = join(sb.dir, 'precious');
    writeFileSync(target, 'keep');
    rmSync(join(locksDir(), 'index.lock'), { force: true });
    rmSync(index(), { force: true });
    symlinkSync(target, join(locksDir(), 'index.lock'));
    expect(listed().map((r) => r.id)).toEqual([id]);
    expect(readFileSync(target, 'utf8')).toBe('keep');
    expect(readlinkSync(join(locksDir(), 'index.lock'))).toBe(target);
  });

  it("stale temp files of the index (a writer that died) are removed when it is next written", () => {
    const id = doneRun();
    ok(sb.flow(['list']));
    const stale = join(sb.stateDir, '.index.json.999999999.1.tmp');
    writeFileSync(stale, '{"format":1,"ru');
    rmSync(index());
    expect(listed().map((r) => r.id)).toEqual([id]);
    expect(existsSync(stale)).toBe(false);
  });
});

describe('stale temp files beside a run document', () => {
  it('a dead writer\'s temp file: show and list leave it (they only read); resume and rollback remove it under the run lock; the document is intact', () => {
    const id = doneRun();
    const bytes = readFileSync(docPath(id));
    const stale = join(runsDir(), `.${id}.json.999999999.7.tmp`);
    writeFileSync(stale, '{"format":1,"id":"');
    ok(sb.flow(['show', id]));
    ok(sb.flow(['list']));
    expect(existsSync(stale)).toBe(true);
    expect(readFileSync(docPath(id)).equals(bytes)).toBe(true);
    ok(sb.flow(['resume', id])); // done: nothing to do, but the run was opened under its lock
    expect(existsSync(stale)).toBe(false);
    writeFileSync(stale, 'x');
    ok(sb.flow(['rollback', id]));
    expect(existsSync(stale)).toBe(false);
    expect(JSON.parse(ok(sb.flow(['show', id, '--json'])).stdout).status).toBe('rolled-back');
  });

  it('a symlink planted with a temp file\'s name: removed as a link, its target untouched', () => {
    const id = doneRun();
    const target = join(sb.dir, 'precious');
    writeFileSync(target, 'keep');
    const link = join(runsDir(), `.${id}.json.999999999.1.tmp`);
    symlinkSync(target, link);
    ok(sb.flow(['rollback', id]));
    expect(existsSync(link) || lstatSync(link, { throwIfNoEntry: false }) !== undefined).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('keep');
  });
});

describe('symlinks planted where a state file should be: refused, nothing followed', () => {
  it('a run document that is a symlink (to a valid document elsewhere): corrupt (exit 3), never read through, the link and its target left as they are', () => {
    const id = doneRun();
    const elsewhere = join(sb.dir, 'elsewhere.json');
    renameSync(docPath(id), elsewhere);
    symlinkSync(elsewhere, docPath(id));
    const bytes = readFileSync(elsewhere);
    const kernelBefore = kernelText(sb);
    expect(ok(sb.flow(['list'])).stdout).toMatch(new RegExp(`^${id} +\\? +corrupt +journal ${docPath(id)} is corrupt: not a regular file \\(symlink\\)`, 'm'));
    for (const cmd of ['show', 'log', 'resume', 'rollback']) {
      expectRefused(sb.flow([cmd, id]), new RegExp(`journal ${docPath(id)} is corrupt: not a regular file \\(symlink\\); flow does not follow links here`), /Inspect or move the file away/, EXIT_CORRUPT);
    }
    expect(readlinkSync(docPath(id))).toBe(elsewhere);
    expect(readFileSync(elsewhere).equals(bytes)).toBe(true);
    expect(kernelText(sb)).toBe(kernelBefore);
    expect(temps()).toEqual([]);
  });

  it("a run's lock file that is a symlink: resume and rollback refused (exit 2, the path and the fix), show still reads; the target untouched", () => {
    const id = doneRun();
    const lock = join(locksDir(), `run-${id}.lock`);
    const target = join(sb.dir, 'precious');
    writeFileSync(target, 'keep');
    rmSync(lock);
    symlinkSync(target, lock);
    const bytes = readFileSync(docPath(id));
    const kernelBefore = kernelText(sb);
    for (const cmd of ['resume', 'rollback']) {
      expectRefused(sb.flow([cmd, id]), new RegExp(`^flow: lock file ${lock} is a symbolic link; flow does not follow it$`), new RegExp(`rm -- ${lock}`), EXIT_USAGE);
    }
    expect(ok(sb.flow(['show', id])).stdout).toContain(`run ${id}`);
    expect(readFileSync(target, 'utf8')).toBe('keep');
    expect(readFileSync(docPath(id)).equals(bytes)).toBe(true);
    expect(kernelText(sb)).toBe(kernelBefore);
    // the fix works
    rmSync(lock);
    ok(sb.flow(['rollback', id]));
  });

  const plant: Record<string, (p: string) => void> = {
    'a directory': (p) => mkdirSync(p),
    'a FIFO': (p) => execFileSync('mkfifo', [p]),
  };

  it.each(Object.keys(plant).map((k) => [k]))("a run's lock file that is %s: resume and rollback refused (exit 2, the fix), doctor names it", (kind) => {
    const id = doneRun();
    const lock = join(locksDir(), `run-${id}.lock`);
    rmSync(lock);
    plant[kind]!(lock);
    const bytes = readFileSync(docPath(id));
    const kernelBefore = kernelText(sb);
    for (const cmd of ['resume', 'rollback']) {
      const problem = kind === 'a directory' ? `lock file ${lock} is a directory` : `lock file ${lock} is not a regular file`;
      expectRefused(sb.flow([cmd, id]), new RegExp(`^flow: ${problem}$`), new RegExp(`(rm|rmdir) -- ${lock}`), EXIT_USAGE);
    }
    expect(readFileSync(docPath(id)).equals(bytes)).toBe(true);
    expect(kernelText(sb)).toBe(kernelBefore);
    const doctor = sb.flow(['doctor', '--json']);
    const check = (JSON.parse(doctor.stdout) as { checks: { check: string; status: string; detail: string; fix?: string }[] }).checks.find((c) => c.check === 'lock-files');
    expect(check).toMatchObject({ status: 'fail', detail: expect.stringContaining(lock), fix: expect.stringContaining(`rm -r -- ${lock}`) });
  });

  it.each(Object.keys(plant).map((k) => [k]))('a run document that is %s: listed as corrupt; show, log, resume, rollback exit 3 without opening it', (kind) => {
    const id = doneRun();
    rmSync(docPath(id));
    plant[kind]!(docPath(id));
    const what = kind === 'a directory' ? 'dir' : 'other';
    expect(ok(sb.flow(['list'])).stdout).toMatch(new RegExp(`^${id} +\\? +corrupt +journal ${docPath(id)} is corrupt: not a regular file \\(${what}\\)`, 'm'));
    for (const cmd of ['show', 'log', 'resume', 'rollback']) {
      expectRefused(sb.flow([cmd, id]), new RegExp(`journal ${docPath(id)} is corrupt: not a regular file \\(${what}\\)`), /Inspect or move the file away/, EXIT_CORRUPT);
    }
  });

  it('the allocation lock a symlink: a new run is refused before it is recorded (no journal, no kernel object), exit 2 with the fix', () => {
    const id = doneRun(); // makes the lock files
    const lock = join(locksDir(), 'flow-alloc.lock');
    const target = join(sb.dir, 'precious');
    writeFileSync(target, 'keep');
    rmSync(lock);
    symlinkSync(target, lock);
    sb.extImage('new.ext4');
    const before = { kernel: kernelText(sb), runs: sb.runs() };
    for (const args of [['run', 'loop-mount', '--file', 'new.ext4'], ['run', 'delayed-device', '--file', 'new.img', '--size', '16M', '--no-mount']]) {
      expectRefused(sb.flow(args), new RegExp(`^flow: lock file ${lock} is a symbolic link; flow does not follow it$`), new RegExp(`rm -- ${lock}`), EXIT_USAGE);
    }
    expect(sb.runs()).toEqual(before.runs);
    expect(kernelText(sb)).toBe(before.kernel);
    expect(existsSync(join(sb.dir, 'new.img'))).toBe(false);
    expect(readFileSync(target, 'utf8')).toBe('keep');
    ok(sb.flow(['rollback', id])); // undoing allocates nothing: still works
    rmSync(lock);
    ok(sb.flow(['run', 'loop-mount', '--file', 'new.ext4']));
  });

  it('a --key lock that is a symlink: refused (exit 2), nothing recorded', () => {
    doneRun();
    sb.extImage('k.ext4');
    const first = runId(ok(sb.flow(['run', 'loop-mount', '--file', 'k.ext4', '--key', 'ci-7'])));
    ok(sb.flow(['rollback', first]));
    const lock = readdirSync(locksDir()).find((n) => n.startsWith('key-'))!;
    rmSync(join(locksDir(), lock));
    symlinkSync(join(sb.dir, 'nowhere'), join(locksDir(), lock));
    const before = sb.runs();
    expectRefused(sb.flow(['run', 'loop-mount', '--file', 'k.ext4', '--key', 'ci-7']), /lock file \S+ is a symbolic link; flow does not follow it/, /rm -- /, EXIT_USAGE);
    expect(sb.runs()).toEqual(before);
    expect(existsSync(join(sb.dir, 'nowhere'))).toBe(false);
  });

  it.each([
    ['runs', runsDir],
    ['locks', locksDir],
  ] as const)('%s/ a symlink to a directory elsewhere: every command refused (exit 2) with the fix; nothing created behind it', (_w, dir) => {
    const id = doneRun();
    const real = join(sb.dir, 'moved');
    renameSync(dir(), real);
    symlinkSync(real, dir());
    const before = listing(sb, real);
    const kernelBefore = kernelText(sb);
    sb.extImage('x.ext4');
    for (const args of [['list'], ['show', id], ['log', id], ['resume', id], ['rollback', id], ['run', 'loop-mount', '--file', 'x.ext4']]) {
      expectRefused(sb.flow(args), new RegExp(`^flow: state directory ${dir()} is a symbolic link; flow does not follow it$`), new RegExp(`rm -- ${dir()} && mkdir -m 700 ${dir()}`), EXIT_USAGE);
    }
    expect(listing(sb, real)).toEqual(before);
    expect(kernelText(sb)).toBe(kernelBefore);
  });
});

describe('unsafe owners and modes below the state directory: refused with the fix, nothing changed', () => {
  it.each([
    ['runs/ group-writable', () => chmodSync(runsDir(), 0o770), () => new RegExp(`state directory ${runsDir()} is writable by group or others \\(mode 770\\)`), () => new RegExp(`chmod 700 ${runsDir()}`)],
    ['locks/ world-writable', () => chmodSync(locksDir(), 0o777), () => new RegExp(`state directory ${locksDir()} is writable by group or others \\(mode 777\\)`), () => new RegExp(`chmod 700 ${locksDir()}`)],
    ['runs/ owned by another user', () => chownSync(runsDir(), 4242, 4242), () => new RegExp(`state directory ${runsDir()} is owned by uid 4242, not by this user \\(uid 0\\)`), () => new RegExp(`chown 0 ${runsDir()}`)],
    ['the state directory owned by another user', () => chownSync(sb.stateDir, 4242, 4242), () => new RegExp(`state directory ${sb.stateDir} is owned by uid 4242`), () => new RegExp(`chown 0 ${sb.stateDir}`)],
  ] as const)('%s', (_w, damage, problem, hint) => {
    const id = doneRun();
    damage();
    sb.extImage('x.ext4');
    const before = { files: listing(sb), kernel: kernelText(sb) };
    for (const args of [['list'], ['show', id], ['log', id], ['resume', id], ['rollback', id], ['run', 'loop-mount', '--file', 'x.ext4']]) {
      expectRefused(sb.flow(args), problem(), hint(), EXIT_USAGE);
    }
    expect(listing(sb)).toEqual(before.files);
    expect(kernelText(sb)).toBe(before.kernel);
  });
});
