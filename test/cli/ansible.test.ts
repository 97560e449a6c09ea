/**
 * examples/ansible/ driven by the real `ansible-playbook` (Debian's ansible-core, which
 * scripts/test installs) against the test entry's persisted fake kernel: the playbooks'
 * logic in seconds on the host — every branch of provision and teardown, with and without
 * --check. The real kernel and a real SIGKILL: test/lab/ansible-real.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox, TEST_ENTRY } from './harness.js';

let sb: Sandbox;
beforeEach(() => {
  sb = new Sandbox();
});
afterEach(() => sb.cleanup());

const EXAMPLES = fileURLToPath(new URL('../../examples/ansible/', import.meta.url));

interface Item {
  item: { key?: string; id?: string };
  changed: boolean;
  skipped?: boolean;
  stdout?: string;
}

/** The PLAY RECAP's counts and the last task's loop items (the tree callback's file). */
function playbook(name: 'provision' | 'teardown', vars: Record<string, string>, check = false) {
  const varsFile = join(sb.dir, 'vars.json');
  writeFileSync(varsFile, JSON.stringify({ ...vars, flow: [process.execPath, TEST_ENTRY] }));
  const tree = join(sb.dir, 'tree');
  rmSync(tree, { recursive: true, force: true });
  const args = ['-i', 'localhost,', '-c', 'local', join(EXAMPLES, `${name}.yml`), '-e', `@${varsFile}`, ...(check ? ['--check'] : [])];
  const r = spawnSync('ansible-playbook', args, {
    cwd: sb.dir,
    encoding: 'utf8',
    timeout: 120_000,
    env: {
      ...sb.env(),
      HOME: sb.dir,
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      ANSIBLE_LOCAL_TEMP: join(sb.dir, 'ansible-local'),
      ANSIBLE_REMOTE_TEMP: join(sb.dir, 'ansible-remote'),
      ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_PIPELINING: '1',
      ANSIBLE_CALLBACKS_ENABLED: 'ansible.builtin.tree',
      ANSIBLE_CALLBACK_TREE_DIR: tree,
    },
  });
  if (r.error) throw new Error(`ansible-playbook: ${r.error.message} (scripts/test installs it: apt-get install ansible-core)`);
  const out = `${r.stdout}${r.stderr}`;
  const m = /^localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)\s+skipped=(\d+)/m.exec(out);
  if (!m) throw new Error(`ansible-playbook ${args.join(' ')} exited ${r.status}:\n${out}`);
  const last = existsSync(join(tree, 'localhost')) ? (JSON.parse(readFileSync(join(tree, 'localhost'), 'utf8')) as { results?: Item[] }) : {};
  return { code: r.status, out, changed: Number(m[2]), failed: Number(m[3]), items: last.results ?? [] };
}

const journals = () => Object.fromEntries(sb.runs().map((f) => [f, readFileSync(join(sb.stateDir, 'runs', f), 'latin1')]));
const kernel = () => (existsSync(sb.kernelFile) ? readFileSync(sb.kernelFile, 'utf8') : '');
const json = (i: Item) => JSON.parse(i.stdout!) as { id: string; status: string; changed: boolean };

describe('examples/ansible on the fake kernel', () => {
  it('check, provision, again, check, teardown --check, teardown, again: changed exactly when something changes (or would)', () => {
    const vars = { image: sb.piImage('pi.img'), slow_disk_file: join(sb.dir, 'slow.img') };

    const plan = playbook('provision', vars, true);
    expect(plan).toMatchObject({ code: 0, changed: 1, failed: 0 });
    expect(plan.items.map((i) => (JSON.parse(i.stdout!) as { workflow: string }).workflow)).toEqual(['snapshot-image', 'delayed-device']);
    expect(sb.runs()).toEqual([]);
    expect(existsSync(vars.slow_disk_file)).toBe(false);

    const first = playbook('provision', vars);
    expect(first).toMatchObject({ code: 0, changed: 1, failed: 0 });
    expect(first.items.map((i) => [i.item.key, json(i).status, json(i).changed])).toEqual([
      ['snapshot', 'done', true],
      ['slow-disk', 'done', true],
    ]);

    const [j, k] = [journals(), kernel()];
    const again = playbook('provision', vars);
    expect(again).toMatchObject({ code: 0, changed: 0, failed: 0 });
    expect(again.items.map((i) => [json(i).id, json(i).changed])).toEqual(first.items.map((i) => [json(i).id, false]));

    // --check once every key is done: nothing would change, so nothing is planned
    const plan2 = playbook('provision', vars, true);
    expect(plan2).toMatchObject({ code: 0, changed: 0, failed: 0 });
    expect(plan2.items.every((i) => i.skipped)).toBe(true);

    // teardown --check: flow show of each run, "would change"; nothing changes
    const show = playbook('teardown', vars, true);
    expect(show).toMatchObject({ code: 0, changed: 1, failed: 0 });
    expect(show.items.map((i) => json(i).id).sort()).toEqual(first.items.map((i) => json(i).id).sort());
    expect([journals(), kernel()]).toEqual([j, k]);

    const down = playbook('teardown', vars);
    expect(down).toMatchObject({ code: 0, changed: 1, failed: 0 });
    expect(down.items.map((i) => [i.item.key, json(i).status, json(i).changed])).toEqual([
      ['slow-disk', 'rolled-back', true],
      ['snapshot', 'rolled-back', true],
    ]);
    expect(sb.kernel()).toMatchObject({ loops: [], dm: [], zram: [], mounts: [] });
    expect(existsSync(vars.slow_disk_file)).toBe(false);

    const [j2, k2] = [journals(), kernel()];
    const down2 = playbook('teardown', vars);
    expect(down2).toMatchObject({ code: 0, changed: 0, failed: 0 });
    expect([journals(), kernel()]).toEqual([j2, k2]);
    expect(readdirSync(join(sb.stateDir, 'runs')).length).toBe(2);
  });
});
