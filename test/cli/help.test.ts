/** Every command's --help (and flow's own) ends with examples; commands are read from `flow --help`, so a new one is checked too. */
import { afterAll, describe, expect, it } from 'vitest';
import { workflows } from '../../machines/index.js';
import { Sandbox } from './harness.js';

const sb = new Sandbox();
afterAll(() => sb.cleanup());

/** `flow <path> --help`, without waiting for the others. */
function help(path: string[]): Promise<{ code: number | null; stdout: string }> {
  const child = sb.spawn([...path, '--help']);
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  return new Promise((r) => child.on('close', (code) => r({ code, stdout })));
}

/** The command names listed under "Commands:" of a help text. */
function commandsIn(help: string): string[] {
  const section = help.split(/^Commands:$/m)[1] ?? '';
  return [...section.split(/^\S/m)[0]!.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!);
}

describe('--help', () => {
  const top = sb.flow(['--help']);
  const commands = commandsIn(top.stdout).filter((c) => c !== 'help');

  it('flow --help lists the commands and has examples', () => {
    expect(top.code).toBe(0);
    expect(commands).toEqual(expect.arrayContaining(['run', 'resume', 'rollback', 'list', 'show', 'log', 'workflows', 'completion']));
    expect(top.stdout).toContain('Example');
  });

  it('every command has examples; so has each workflow under run (and under any command with subcommands)', async () => {
    const firsts = await Promise.all(commands.map((c) => help([c])));
    const paths = commands.flatMap((c, i) => [[c], ...commandsIn(firsts[i]!.stdout).filter((s) => s !== 'help').map((s) => [c, s])]);
    for (const wf of Object.keys(workflows)) expect(paths).toContainEqual(['run', wf]);
    const all = await Promise.all(paths.map(help));
    paths.forEach((path, i) => {
      expect(all[i]!.code, path.join(' ')).toBe(0);
      expect(all[i]!.stdout, `flow ${path.join(' ')} --help`).toMatch(/^Examples?:$/m);
    });
  });
});
