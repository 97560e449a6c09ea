/**
 * `flow completion bash|zsh`: the bash script is loaded in a real bash and its function is
 * called as bash calls it on TAB (COMP_WORDS / COMP_CWORD), with `flow` on PATH running the
 * built CLI; run ids come from the sandbox's state directory at completion time.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fileBuiltins, workflows } from '../../machines/index.js';
import { MAIN, runId, Sandbox } from './harness.js';

let sb: Sandbox;
let bin: string;
// the script, made once by the built CLI (it depends on the program only)
const made = new Sandbox();
const SCRIPT = join(made.dir, 'flow.bash');
beforeAll(() => writeFileSync(SCRIPT, made.flow(['completion', 'bash']).stdout));
afterAll(() => made.cleanup());
beforeEach(() => {
  sb = new Sandbox();
  bin = join(sb.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'flow'), `#!/bin/sh\nexec '${process.execPath}' '${MAIN}' "$@"\n`);
  chmodSync(join(bin, 'flow'), 0o755);
});
afterEach(() => sb.cleanup());

const bash = (script: string, args: string[] = [], env: Record<string, string> = {}) =>
  spawnSync('bash', ['-c', script, 'bash', ...args], { cwd: sb.dir, env: { ...sb.env(env), PATH: `${bin}:${process.env.PATH}` }, encoding: 'utf8', timeout: 60_000 });

const q = (w: string) => `'${w.replace(/'/g, `'\\''`)}'`;

/** What bash offers for each command line (its last word is the one being completed), in one bash. */
function completeAll(lines: string[][], env: Record<string, string> = {}): string[][] {
  const r = bash(
    `source "${SCRIPT}" || exit 9
     c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}; COMPREPLY=(); _flow; printf '%s\\n' "\${COMPREPLY[@]}" '<end>'; }
     ${lines.map((words) => `c ${words.map(q).join(' ')}`).join('\n')}`,
    [],
    env,
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('<end>\n').slice(0, -1).map((out) => out.split('\n').filter(Boolean).sort());
}

const complete = (words: string[], env: Record<string, string> = {}) => completeAll([words], env)[0]!;

describe('flow completion bash', () => {
  it('registers a completion function for flow', () => {
    const r = bash('source <(flow completion bash); complete -p flow');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('complete -F _flow flow');
    expect(spawnSync('bash', ['-n'], { input: sb.flow(['completion', 'bash']).stdout }).status).toBe(0);
  });

  it('commands, workflow names, workflow options, global options and option values', () => {
    sb.piImage('pi.img');
    mkdirSync(join(sb.dir, 'pimnt'));
    const wfs = Object.values(workflows);
    const cases: [string[], (got: string[]) => void][] = [
      [['flow', ''], (g) => expect(g).toEqual(expect.arrayContaining(['run', 'resume', 'rollback', 'list', 'show', 'log', 'workflows', 'completion', 'help']))],
      [['flow', 'ro'], (g) => expect(g).toEqual(['rollback'])],
      [['flow', 'run', 'sna'], (g) => expect(g).toEqual(['snapshot-image'])],
      [['flow', 'run', ''], (g) => expect(g).toEqual([...Object.keys(workflows), ...Object.keys(fileBuiltins)].sort())],
      [['flow', 'run', 'snapshot-image', '--co'], (g) => expect(g).toEqual(['--cow-file', '--cow-size'])],
      [['flow', 'run', 'delayed-device', '--'], (g) => expect(g).toEqual(expect.arrayContaining(['--read-delay', '--write-delay', '--no-sync', '--json', '--quiet', '--state-dir']))],
      ...wfs.map((wf): [string[], (g: string[]) => void] => [['flow', 'run', wf.name, '--'], (g) => expect(g).toEqual(expect.arrayContaining(wf.options.map((o) => o.flag)))]),
      [['flow', '--'], (g) => expect(g).toEqual(expect.arrayContaining(['--state-dir', '--verbose', '--log-format', '--help', '--version']))],
      [['flow', '--log-format', ''], (g) => expect(g).toEqual(['json', 'text'])],
      [['flow', '--log-format', '=', 'j'], (g) => expect(g).toEqual(['json'])], // --log-format=j
      [['flow', 'completion', ''], (g) => expect(g).toEqual(['bash', 'zsh'])],
      [['flow', 'help', 'wo'], (g) => expect(g).toEqual(['workflows'])],
      // values: files for --image, directories for --mountpoint, options again after a value, nothing for a size
      [['flow', 'run', 'snapshot-image', '--image', 'pi'], (g) => expect(g).toEqual(['pi.img', 'pimnt'])],
      [['flow', 'run', 'snapshot-image', '--mountpoint', 'pi'], (g) => expect(g).toEqual(['pimnt'])],
      [['flow', 'run', 'snapshot-image', '--image', 'pi.img', '--si'], (g) => expect(g).toEqual(['--size'])],
      [['flow', 'run', 'snapshot-image', '--size', ''], (g) => expect(g).toEqual([])],
    ];
    const got = completeAll(cases.map(([words]) => words));
    cases.forEach(([words, check], i) => {
      try {
        check(got[i]!);
      } catch (err) {
        throw new Error(`${words.join(' ')}<TAB>: ${(err as Error).message}`);
      }
    });
  });

  it('run ids from `flow list --json` at completion time (FLOW_STATE_DIR, or --state-dir on the line)', () => {
    expect(complete(['flow', 'rollback', ''])).toEqual([]);
    sb.extImage();
    const a = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
    const b = runId(sb.flow(['run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
    for (const cmd of ['rollback', 'resume', 'show', 'log']) expect(complete(['flow', cmd, ''])).toEqual([a, b].sort());
    expect(complete(['flow', 'rollback', a.slice(0, 3)])).toEqual([a]);
    expect(complete(['flow', 'show', a, ''])).toEqual([]); // one id only
    // another state directory, named on the command line (both forms), wins over FLOW_STATE_DIR
    const other = join(sb.dir, 'other');
    const c = runId(sb.flow(['--state-dir', other, 'run', 'loop-mount', '--file', 'rootfs.ext4', '--read-only']));
    expect(complete(['flow', '--state-dir', other, 'rollback', ''])).toEqual([c]);
    expect(complete(['flow', '--state-dir', '=', other, 'rollback', ''])).toEqual([c]);
    expect(complete(['flow', 'rollback', '--state-dir', other, ''])).toEqual([c]);
    expect(complete(['flow', 'rollback', ''], { FLOW_STATE_DIR: other })).toEqual([c]);
  });
});

describe("the administrators' workflows (/etc/flow/workflows)", () => {
  it('are completed under run, plan and verify with their options, like the built-ins; a file that does not load is left out', () => {
    const etc = join(sb.dir, 'etc');
    mkdirSync(etc);
    copyFileSync(fileURLToPath(new URL('../fixtures/workflows/linear-disk.yaml', import.meta.url)), join(etc, 'linear-disk.yaml'));
    writeFileSync(join(etc, 'broken.yaml'), 'name: broken\nsteps: [\n');
    const env = { FLOW_WORKFLOWS_DIR: etc };
    const made = sb.flow(['completion', 'bash'], env);
    expect(made.stderr).toBe('');
    expect(made.code).toBe(0);
    const script = join(sb.dir, 'etc.bash');
    writeFileSync(script, made.stdout);
    const r = bash(
      `source "${script}" || exit 9
       c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _flow; printf '%s\\n' "\${COMPREPLY[@]}" '<end>'; }
       c flow run li; c flow plan ''; c flow verify lin; c flow run linear-disk --mo`,
    );
    expect(r.status, r.stderr).toBe(0);
    const got = r.stdout.split('<end>\n').slice(0, -1).map((out) => out.split('\n').filter(Boolean).sort());
    expect(got).toEqual([['linear-disk'], [...Object.keys(workflows), ...Object.keys(fileBuiltins), 'linear-disk'].sort(), ['linear-disk'], ['--mountpoint']]);
    const zsh = sb.flow(['completion', 'zsh'], env).stdout;
    expect(zsh).toContain('linear-disk');
    expect(zsh).not.toContain('broken');
  });
});

describe('flow completion zsh', () => {
  it('a zsh completion: compdef line, every command, workflow and option; valid syntax where zsh exists', () => {
    const r = sb.flow(['completion', 'zsh']);
    expect(r.code).toBe(0);
    const text = r.stdout;
    expect(text.split('\n')[0]).toBe('#compdef flow');
    expect(text).toContain('compdef _flow flow');
    for (const cmd of ['run', 'resume', 'rollback', 'list', 'show', 'log', 'workflows', 'completion']) expect(text).toContain(`'${cmd}:`);
    for (const wf of Object.values(workflows)) {
      expect(text).toContain(`_flow__run__${wf.name.replace(/-/g, '_')}() {`);
      for (const o of wf.options) expect(text).toContain(`${o.flag}${o.value ? '=' : ''}[`);
    }
    expect(text).toContain("'1:id:_flow_ids'");
    expect(text).toContain('list --json');
    expect(text).toContain("'--log-format=[format of log lines on stderr]:value:(text json)'");
    const zsh = spawnSync('zsh', ['-n'], { input: text, encoding: 'utf8' });
    // zsh is a test dependency (scripts/test installs it): its absence fails here, not passes
    expect(zsh.error).toBeUndefined();
    expect(zsh.status, zsh.stderr).toBe(0);
  });

  it('a shell it does not know: exit 2 with the choices', () => {
    const r = sb.flow(['completion', 'fish']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bash, zsh');
  });
});
