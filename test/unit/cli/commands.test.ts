/** Which command modules a command line loads (src/cli/commands/index.ts): the command it names, found as commander finds it. */
import { expect, test } from 'vitest';
import { COMMANDS, commandOf, entriesFor } from '../../../src/cli/commands/index.js';

test('the command is the first operand; the values of --state-dir and --log-format are not', () => {
  expect(commandOf(['run', 'loop-mount', '--file', 'x'])).toBe('run');
  expect(commandOf(['--state-dir', 'list', 'show', 'abc'])).toBe('show');
  expect(commandOf(['--state-dir=list', '--verbose', 'rollback', 'abc'])).toBe('rollback');
  expect(commandOf(['--log-format', 'json', '--', 'resume', 'x'])).toBe('resume');
  expect(commandOf(['--help'])).toBeUndefined();
  expect(commandOf([])).toBeUndefined();
});

test('one module for a known command; every one for help, an unknown or no command, and completion', () => {
  const names = (args: string[]) => entriesFor(args).flatMap((e) => e.names);
  expect(names(['rollback', 'abc'])).toEqual(['resume', 'rollback']);
  expect(names(['--state-dir', '/s', 'list', '--json'])).toEqual(['list']);
  const all = COMMANDS.flatMap((e) => e.names);
  expect(names(['help', 'run'])).toEqual(all);
  expect(names(['nope'])).toEqual(all);
  expect(names([])).toEqual(all);
  expect(names(['completion', 'bash'])).toEqual(all);
  expect(new Set(all).size).toBe(all.length);
});
