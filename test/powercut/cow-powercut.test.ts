/**
 * A persistent COW (pi-image --cow-file, snapshot-image --cow-file) across a real power cut of the lab's VM. Runs ON
 * THE HOST, as root, and boots the lab twice (guest side: cow-guest.sh), the state disk
 * (ext4 at /var/lib/flow, flow's state directory; lab/pi.img from scripts/make-pi-image)
 * mounted commit=600,noauto_da_alloc with no flusher writeback, so that only an fsync makes
 * anything durable before the cut:
 *   boot 1  run A: pi-image --cow-file, done; a file written into its root and one into its
 *           boot partition, each fsynced; run C: snapshot-image --cow-file, done, a file
 *           written into it and fsynced; run B: pi-image --cow-file halted inside grow-root
 *           (resize2fs done, its outcome not in the journal); the power is cut
 *   boot 2  nothing of any run in the kernel; `flow resume A` rebuilds its stack, both
 *           files there with their content; `flow resume C` likewise, its file there;
 *           `flow recover --policy resume` finishes B exactly (grown to --size); all three
 *           rolled back: no loop, dm device, mount or COW
 *           file left; the image's sha256 the same at every stage
 *   npm run build && flock /work/lab.lock npx vitest run --project powercut test/powercut/cow-powercut.test.ts
 * FLOW_COWCUT_MUTANT=no-sync leaves the three files unsynced before the cut: the test must fail.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, sh, sha256 } from '../lab/real-host.js';

if (process.getuid?.() !== 0) throw new Error('this test boots the kernel lab: run it as root on the host (npx vitest run --project powercut)');

const T = mkdtempSync('/tmp/flow-cowcut-');
const share = join(T, 'share');
const disk = join(T, 'state.img');
const boots: string[] = [];
const t0 = Date.now();
const mutant = process.env.FLOW_COWCUT_MUTANT === 'no-sync' ? ['no-sync'] : [];
/** 128 MiB image: the root partition 60 MiB, grown to --size 96M (4 KiB blocks) */
const GROWN_BLOCKS = (96 << 20) / 4096;
const ROOT_SECTORS = (96 << 20) / 512;
const BOOT_SECTORS = 64 * 2048;
/** the root partition of make-pi-image's 128 MiB image: after the 64 MiB boot partition at sector 8192, to the end */
const PART_START = 8192 + BOOT_SECTORS;
const PART_SECTORS = 128 * 2048 - PART_START;
let imageSha: string;

interface ListItem {
  id: string;
  workflow: string;
  status: string;
}
interface Loop {
  name: string;
  'back-file': string;
  ro: boolean | string;
  offset: number | string;
  sizelimit: number | string;
}

/** One boot of the lab; its exit status must be `expect` (137: the power was cut). */
function boot(what: string, args: string[], expectStatus: number): void {
  const start = Date.now();
  const argv = ['run', '-q', '--mem', '2048', '--timeout', '600', '--share', share, '--disk', disk, '--disk-mount', '/var/lib/flow', ...args];
  const r = spawnSync(join(ROOT, 'scripts/lab'), argv, { cwd: ROOT, encoding: 'utf8', timeout: 700_000 });
  boots.push(`${what}: exit ${r.status}, ${((Date.now() - start) / 1000).toFixed(0)} s`);
  if (r.status !== expectStatus) throw new Error(`scripts/lab ${argv.join(' ')} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
}

const read = (...p: string[]) => readFileSync(join(share, ...p), 'utf8');
const json = <X>(...p: string[]) => JSON.parse(read(...p)) as X;
/** the last line of a command's --json output */
const lastJson = <X>(...p: string[]) => JSON.parse(read(...p).trim().split('\n').pop()!) as X;
/** the loop devices in `losetup -J -l` output (empty output: none) */
const loops = (...p: string[]): Loop[] => {
  const t = read(...p).trim();
  return t ? (JSON.parse(t) as { loopdevices: Loop[] }).loopdevices : [];
};
/** the mounts of a mountinfo dump under /run/flow or of a flow device-mapper device */
const flowMounts = (...p: string[]) =>
  read(...p)
    .split('\n')
    .filter((l) => l.split(' ')[4]?.startsWith('/run/flow/') || / - \S+ \/dev\/(mapper\/flow-|dm-)/.test(l));
const loopSummary = (l: Loop) => `${l['back-file'].replace(/ \(deleted\)$/, '')} ro=${String(l.ro) === 'true' || String(l.ro) === '1'} offset=${Number(l.offset)} limit=${Number(l.sizelimit)}`;
const D = '/var/lib/flow/lab';
let A: string;
let B: string;
let C: string;

beforeAll(async () => {
  // the state disk: ext4 (its root becomes /var/lib/flow) with lab/pi.img
  const content = join(T, 'content');
  mkdirSync(join(content, 'lab'), { recursive: true });
  sh([join(ROOT, 'scripts/make-pi-image'), join(content, 'lab/pi.img'), '128']);
  imageSha = await sha256(join(content, 'lab/pi.img'));
  sh(['truncate', '-s', '384M', disk]);
  sh(['mkfs.ext4', '-q', '-F', '-b', '4096', '-d', content, disk]);
  mkdirSync(share);
  boot('cut', ['--disk-mount-options', 'commit=600,noauto_da_alloc', '--power-cut-on', 'cut', '--', 'bash', 'test/powercut/cow-guest.sh', 'cut', ...mutant], 137);
  if (existsSync(join(share, 'cut.d/fatal'))) throw new Error(read('cut.d/fatal'));
  A = lastJson<{ id: string }>('cut.d/a.json').id;
  C = lastJson<{ id: string }>('cut.d/c.json').id;
  B = json<ListItem[]>('cut.d/list.json').find((r) => r.id !== A && r.id !== C)!.id;
  boot('after the cut', ['--', 'bash', 'test/powercut/cow-guest.sh', 'check'], 0);
  if (existsSync(join(share, 'check.d/fatal'))) throw new Error(read('check.d/fatal'));
}, 1_500_000);

afterAll(() => {
  console.log(['', `persistent COW power-cut test (real kernel, ${boots.length} boots, ${((Date.now() - t0) / 1000).toFixed(0)} s in all):`, ...boots.map((b) => `  boot ${b}`)].join('\n'));
  if (process.env.FLOW_POWERCUT_KEEP) console.log(`kept ${T}`);
  else rmSync(T, { recursive: true, force: true });
});

/** major:minor -> what is behind it, from the guest's dmsetup info and losetup dumps: a dm name, or FILE@OFFSET of a loop device */
function devices(prefix: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of read(`${prefix}.dminfo`).trim().split('\n')) {
    const [name, major, minor] = l.split(' ');
    m.set(`${major}:${minor}`, name!);
  }
  for (const l of loops(`${prefix}.losetup`) as (Loop & { 'maj:min': string })[]) m.set(l['maj:min'].trim(), `${l['back-file']}@${Number(l.offset)}`);
  return m;
}

/** A dm table with every major:minor resolved to what is behind it. */
const resolved = (prefix: string, name: string, devs: Map<string, string>) =>
  read(`${prefix}${name}.dmtable`)
    .trim()
    .replace(/\b\d+:\d+\b/g, (mm) => devs.get(mm) ?? `?${mm}`);

/** A done pi-image --cow-file run's stack as the guest recorded it (PREFIX: cut.d/a, check.d/b ...), on COW (a.cow, b.cow). */
function expectStack(prefix: string, id: string, cow: string): void {
  const devs = devices(prefix);
  expect(resolved(prefix, '', devs)).toBe(`0 ${ROOT_SECTORS} snapshot flow-${id}-base ${D}/${cow}@0 P 16`);
  expect(resolved(prefix, '-boot', devs)).toBe(`0 ${BOOT_SECTORS} snapshot flow-${id}-boot-base ${D}/${cow}@${32 << 20} P 16`);
  expect(resolved(prefix, '-base', devs).split('\n')).toEqual([`0 ${PART_SECTORS} linear ${D}/pi.img@0 ${PART_START}`, `${PART_SECTORS} ${ROOT_SECTORS - PART_SECTORS} zero `.trim()]);
  expect(resolved(prefix, '-boot-base', devs)).toBe(`0 ${BOOT_SECTORS} linear ${D}/pi.img@0 8192`);
  expect(read(`${prefix}.blocks`).trim()).toBe(String(GROWN_BLOCKS));
  expect(read(`${prefix}.findmnt`).trim().split('\n')).toEqual([
    `/run/flow/${id}/mnt /dev/mapper/flow-${id} ext4`,
    `/run/flow/${id}/mnt/boot/firmware /dev/mapper/flow-${id}-boot vfat`,
  ]);
}

/** A done snapshot-image --cow-file run's stack (the image's root partition grown to 96 MiB) on COW */
function expectSnapshotImageStack(prefix: string, id: string, cow: string): void {
  const devs = devices(prefix);
  expect(resolved(prefix, '', devs)).toBe(`0 ${ROOT_SECTORS} snapshot flow-${id}-base ${D}/${cow}@0 P 16`);
  expect(resolved(prefix, '-base', devs).split('\n')).toEqual([`0 ${PART_SECTORS} linear ${D}/pi.img@0 ${PART_START}`, `${PART_SECTORS} ${ROOT_SECTORS - PART_SECTORS} zero `.trim()]);
  expect(read(`${prefix}.blocks`).trim()).toBe(String(GROWN_BLOCKS));
  expect(read(`${prefix}.findmnt`).trim()).toBe(`/run/flow/${id}/mnt /dev/mapper/flow-${id} ext4`);
}

/** the loops of a pi-image --cow-file run on COW: the image read-only, the two COW regions read-write */
const runLoops = (cow: string) => [
  `${D}/pi.img ro=true offset=0 limit=0`,
  `${D}/${cow} ro=false offset=0 limit=${32 << 20}`,
  `${D}/${cow} ro=false offset=${32 << 20} limit=${16 << 20}`,
];

describe('a persistent COW across a real power cut (pi-image --cow-file, snapshot-image --cow-file)', () => {
  it('boot 1: A and C done, their files written and synced; B halted inside grow-root; the power cut with the three stacks up', () => {
    expect(read('cut.d/a.rc').trim()).toBe('0');
    expectStack('cut.d/a', A, 'a.cow');
    expect(read('cut.d/c.rc').trim(), read('cut.d/c.err')).toBe('0');
    expectSnapshotImageStack('cut.d/c', C, 'c.cow');
    expect(read('cut.d/b.halted').trim()).toBe('apply:grow-root:command-done');
    expect(json<ListItem[]>('cut.d/list.json').map((r) => [r.id, r.status]).sort()).toEqual([[A, 'done'], [B, 'running'], [C, 'done']].sort());
    const dm = read('cut.d/before-cut.dmtable');
    expect(dm).toMatch(new RegExp(`^flow-${A}: 0 ${ROOT_SECTORS} snapshot .* P 16$`, 'm'));
    expect(dm).toMatch(new RegExp(`^flow-${B}: 0 ${ROOT_SECTORS} snapshot .* P 16$`, 'm'));
    expect(dm).toMatch(new RegExp(`^flow-${C}: 0 ${ROOT_SECTORS} snapshot .* P 16$`, 'm'));
    expect(read('cut.d/start.sha256')).toBe(`${imageSha}  pi.img\n`);
    expect(read('cut.d/before-cut.sha256')).toBe(`${imageSha}  pi.img\n`);
  });

  it('boot 2: no loop, dm device or mount of any run; the COW files and the image still there, the image unchanged', () => {
    expect(read('check.d/start.dmtable').trim()).toBe('No devices found');
    expect(loops('check.d/start.losetup')).toEqual([]);
    expect(flowMounts('check.d/start.mountinfo')).toEqual([]);
    expect(read('check.d/start.files').trim().split('\n').sort()).toEqual(['a.cow', 'b.cow', 'c.cow', 'pi.img']);
    expect(read('check.d/start.sha256')).toBe(`${imageSha}  pi.img\n`);
    expect(json<ListItem[]>('check.d/list.json').map((r) => [r.id, r.status]).sort()).toEqual([[A, 'done'], [B, 'running'], [C, 'done']].sort());
  });

  it('flow resume A rebuilds its stack over the COW file: both files there with their content', () => {
    expect(read('check.d/a-resume.rc').trim(), read('check.d/a-resume.err')).toBe('0');
    expect(lastJson<{ id: string; status: string }>('check.d/a-resume.json')).toMatchObject({ id: A, status: 'done' });
    expect(read('check.d/a-kept.txt')).toBe('kept across a power cut\n');
    expect(read('check.d/a-cowcut.txt')).toBe('dtparam=cowcut=on\n');
    expectStack('check.d/a', A, 'a.cow');
  });

  it('flow resume C rebuilds the snapshot-image stack over its COW file: its file there with its content', () => {
    expect(read('check.d/c-resume.rc').trim(), read('check.d/c-resume.err')).toBe('0');
    expect(lastJson<{ id: string; status: string }>('check.d/c-resume.json')).toMatchObject({ id: C, status: 'done' });
    expect(read('check.d/c-kept.txt')).toBe('snapshot-image kept across a power cut\n');
    expectSnapshotImageStack('check.d/c', C, 'c.cow');
  });

  it('flow recover --policy resume finishes B exactly: both snapshots persistent on its COW file, the root grown to --size, both mounted', () => {
    expect(read('check.d/recover.rc').trim(), read('check.d/recover.err')).toBe('0');
    expect(json<{ id: string; before: string; after: string }[]>('check.d/recover.json').map((r) => [r.id, r.before, r.after])).toEqual([[B, 'running', 'done']]);
    expectStack('check.d/b', B, 'b.cow');
    expect(json<ListItem[]>('check.d/resumed-list.json').map((r) => [r.id, r.status]).sort()).toEqual([[A, 'done'], [B, 'done'], [C, 'done']].sort());
    expect(loops('check.d/resumed.losetup').map(loopSummary).sort()).toEqual([...runLoops('a.cow'), ...runLoops('b.cow'), `${D}/pi.img ro=true offset=0 limit=0`, `${D}/c.cow ro=false offset=0 limit=0`].sort());
    expect(read('check.d/resumed.sha256')).toBe(`${imageSha}  pi.img\n`);
  });

  it('flow rollback of all three leaves no loop, dm device, mount or COW file; the image bit-for-bit unchanged', () => {
    for (const id of [A, B, C]) {
      expect(read(`check.d/${id}.rollback.rc`).trim(), read(`check.d/${id}.rollback.out`)).toBe('0');
    }
    expect(json<ListItem[]>('check.d/end-list.json').map((r) => [r.id, r.status]).sort()).toEqual([[A, 'rolled-back'], [B, 'rolled-back'], [C, 'rolled-back']].sort());
    expect(read('check.d/end.dmtable').trim()).toBe('No devices found');
    expect(loops('check.d/end.losetup')).toEqual([]);
    expect(flowMounts('check.d/end.mountinfo')).toEqual([]);
    expect(read('check.d/end.files').trim()).toBe('pi.img');
    expect(read('check.d/end.runflow').trim()).toBe('');
    expect(read('check.d/end.sha256')).toBe(`${imageSha}  pi.img\n`);
  });
});
