/**
 * examples/ansible/ with Debian's real `ansible-playbook` (ansible-core, installed on the
 * host by scripts/test; the guest sees the host's root) on the real kernel, in the lab only:
 *   npm run build && scripts/lab run -q -- npx vitest run --project lab test/lab/ansible-real.test.ts
 * Local connection (`-i localhost, -c local`), the example playbooks as they are, only their
 * paths and the flow command given as extra vars. What a user sees is asserted: the PLAY
 * RECAP's counts; what flow did through its own command log (`--verbose --log-format json`
 * on each task's stderr, read from the `tree` callback's file: the result of the last task,
 * the flow run / rollback loop) and its journals; what the kernel holds.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { labCase } from './lab-case.js';
import { requireLab } from './lab-env.js';
import { cliFor, hostObjects, mountOf, ROOT, sha256 } from './real-host.js';

requireLab();

const t = labCase();

interface Recap {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
}

/** One loop item of the tree callback's result (the command module's result and the item). */
interface Item {
  item: { key?: string; id?: string };
  changed: boolean;
  skipped?: boolean;
  failed?: boolean;
  rc?: number;
  stdout?: string;
  stderr?: string;
}

interface Play {
  code: number | null;
  out: string;
  recap: Recap;
  /** the last task's items (the flow loop), from the tree callback */
  items: Item[];
}

/**
 * `ansible-playbook -i localhost, -c local examples/ansible/NAME.yml -e @vars.json [--check]`,
 * flow logging every command it runs (JSON lines on the task's stderr). `env`: e.g. a test
 * switch (then flow is the test entry, as everywhere in the lab tests).
 */
function playbook(name: 'provision' | 'teardown', vars: Record<string, string>, o: { check?: boolean; env?: Record<string, string> } = {}): Play {
  const sb = t.sb;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: sb.dir,
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8', // ansible refuses a locale that is not UTF-8
    FLOW_STATE_DIR: sb.stateDir,
    FLOW_RUN_DIR: sb.runDir,
    ANSIBLE_LOCAL_TEMP: join(sb.dir, 'ansible-local'),
    ANSIBLE_REMOTE_TEMP: join(sb.dir, 'ansible-remote'),
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_PIPELINING: '1', // the module through python's stdin: no temp files per task
    ANSIBLE_CALLBACKS_ENABLED: 'ansible.builtin.tree',
    ANSIBLE_CALLBACK_TREE_DIR: join(sb.dir, 'tree'),
    ...o.env,
  };
  const varsFile = join(sb.dir, 'vars.json');
  writeFileSync(varsFile, JSON.stringify({ ...vars, flow: [process.execPath, cliFor(env), '--verbose', '--log-format', 'json'] }));
  const args = ['-i', 'localhost,', '-c', 'local', join(ROOT, 'examples/ansible', `${name}.yml`), '-e', `@${varsFile}`, ...(o.check ? ['--check'] : [])];
  const tree = join(sb.dir, 'tree', 'localhost');
  rmSync(tree, { force: true }); // what this invocation writes, not the last one's
  const t0 = Date.now();
  const r = spawnSync('ansible-playbook', args, { cwd: sb.dir, env, encoding: 'utf8', timeout: 600_000 });
  process.stderr.write(`[ansible] ${name}${o.check ? ' --check' : ''}${o.env ? ` ${Object.keys(o.env).join(' ')}` : ''}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const m = /^localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)\s+skipped=(\d+)/m.exec(out);
  if (!m) throw new Error(`ansible-playbook ${args.join(' ')} exited ${r.status ?? r.signal} without a recap:\n${out}`);
  const last = existsSync(tree) ? (JSON.parse(readFileSync(tree, 'utf8')) as { results?: Item[] }) : {};
  return { code: r.status, out, recap: { ok: Number(m[1]), changed: Number(m[2]), failed: Number(m[3]), skipped: Number(m[4]) }, items: last.results ?? [] };
}

/** The commands flow logged on an item's stderr (--verbose --log-format json). */
function commands(i: Item): string[][] {
  return (i.stderr ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; argv: string[] })
    .filter((l) => l.msg === 'command')
    .map((l) => l.argv);
}

/** Every journal's bytes, by file name. */
function journals(): Record<string, string> {
  const dir = join(t.sb.stateDir, 'runs');
  if (!existsSync(dir)) return {};
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'latin1')]));
}

/** `flow list --json`: the runs with a key. */
function keyed(): { id: string; key: string; status: string; workflow: string }[] {
  const r = t.sb.flow(['list', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string; key?: string; status: string; workflow: string }[]).filter((x) => x.key).map((x) => ({ ...x, key: x.key! }));
}

/** Items by key, each one's flow JSON. */
const byKey = (p: Play) => Object.fromEntries(p.items.map((i) => [i.item.key!, i]));
const json = (i: Item | undefined) => JSON.parse(i?.stdout ?? 'null') as { id: string; status: string; changed: boolean; outputs: Record<string, string>; steps?: unknown[] };

describe('examples/ansible with the real ansible-playbook (local connection)', () => {
  // one sandbox, one image, five playbook invocations: each costs a Python start-up and a module per task in the guest
  it('--check plans and changes nothing; provision with flow SIGKILLed mid-step fails, the next play resumes that run; then ok with no command run and no journal event; teardown removes everything', async () => {
    const img = t.sb.piImage('pi.img', 128);
    const sum = await sha256(img.path);
    const slow = join(t.sb.dir, 'slow.img');
    const vars = { image: img.path, slow_disk_file: slow };

    // --check: flow plan (the commands a run would execute), reported as "would change"; nothing recorded or made
    const check = playbook('provision', vars, { check: true });
    expect(check.code, check.out).toBe(0);
    expect(check.recap).toMatchObject({ changed: 1, failed: 0 });
    expect(check.items.map((i) => i.item.key).sort()).toEqual(['slow-disk', 'snapshot']);
    for (const i of check.items) {
      const plan = JSON.parse(i.stdout!) as { workflow: string; steps: { command: unknown }[] };
      expect(plan.steps.length).toBeGreaterThan(0);
      expect(plan.steps.every((s) => s.command !== undefined)).toBe(true);
    }
    expect(journals()).toEqual({});
    expect(hostObjects()).toEqual(t.before);
    expect(existsSync(slow)).toBe(false);

    // the first play: flow SIGKILLed once the delay target is created, before it records the
    // outcome: that item fails, and with it the play; the snapshot, first, is done and changed
    const killed = playbook('provision', vars, { env: { FLOW_CRASH_AT: 'apply:create-delay:command-done' } });
    expect(killed.code, killed.out).not.toBe(0);
    expect(killed.recap.failed).toBe(1);
    const k = byKey(killed);
    expect(k['slow-disk']).toMatchObject({ failed: true, rc: -9 });
    const live = keyed();
    for (const r of live) t.track(r.id);
    expect(live.map((r) => [r.key, r.status]).sort()).toEqual([
      ['slow-disk', 'running'],
      ['snapshot', 'done'],
    ]);
    expect(json(k.snapshot)).toMatchObject({ status: 'done', changed: true });
    expect(commands(k.snapshot!).length).toBeGreaterThan(0); // the log shows what a run executes
    expect(mountOf(json(k.snapshot).outputs.mountpoint!)).toMatchObject({ fstype: 'ext4' });
    const cut = live.find((r) => r.key === 'slow-disk')!;

    // the next play resumes that run (the step in doubt probed: the device is there) to done, changed;
    // the snapshot's run is done already: ok, no command
    const next = playbook('provision', vars);
    expect(next.code, next.out).toBe(0);
    expect(next.recap).toMatchObject({ changed: 1, failed: 0 });
    const n = byKey(next);
    expect(json(n['slow-disk'])).toMatchObject({ id: cut.id, status: 'done', changed: true });
    expect(commands(n['slow-disk']!).length).toBeGreaterThan(0);
    expect(json(n.snapshot)).toMatchObject({ id: json(k.snapshot).id, status: 'done', changed: false });
    expect(mountOf(json(n['slow-disk']).outputs.mountpoint!)).toMatchObject({ fstype: 'ext4' });
    expect(existsSync(slow)).toBe(true);

    // again: ok, nothing changed; flow ran no command at all and wrote no event
    const before = journals();
    const kernel = hostObjects();
    const again = playbook('provision', vars);
    expect(again.code, again.out).toBe(0);
    expect(again.recap).toMatchObject({ changed: 0, failed: 0 });
    const a = byKey(again);
    for (const [key, id] of [['snapshot', json(k.snapshot).id], ['slow-disk', cut.id]] as const) {
      expect(json(a[key])).toMatchObject({ id, status: 'done', changed: false });
      expect(commands(a[key]!)).toEqual([]);
    }
    expect(journals()).toEqual(before);
    expect(hostObjects()).toEqual(kernel);

    // teardown: both rolled back; no loop, dm, zram or mount left, the created file gone, the image as it was
    const down = playbook('teardown', vars);
    expect(down.code, down.out).toBe(0);
    expect(down.recap).toMatchObject({ changed: 1, failed: 0 });
    expect(down.items.map((i) => json(i)).map((j) => [j.status, j.changed])).toEqual([
      ['rolled-back', true],
      ['rolled-back', true],
    ]);
    for (const r of live) t.untrack(r.id);
    expect(hostObjects()).toEqual(t.before);
    expect(t.sb.runDirEntries()).toEqual([]);
    expect(existsSync(slow)).toBe(false);
    expect(await sha256(img.path)).toBe(sum);
    expect(keyed().map((r) => r.status)).toEqual(['rolled-back', 'rolled-back']);
    // five ansible-playbook runs (each flow invocation under emulation); six took 894 s at host
    // load 4-5, 716 s at 1.5-2 (the play that provisioned from nothing is gone: the killed play
    // provisions the snapshot from nothing, the next one resumes the slow disk; a new run for a
    // key whose run was rolled back is test/cli/key.test.ts's); the lab VM's timeout bounds it too
  }, 2_400_000);
});
