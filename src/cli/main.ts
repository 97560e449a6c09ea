#!/usr/bin/env node
/** flow's command line. Every error ends in exit.ts. */
import { Command, CommanderError, Option } from 'commander';
import { FlowError } from '../errors.js';
import { exitCodeOf, messageOf, EXIT } from './exit.js';
import { registerCommands } from './commands/index.js';
import { DEFAULT_STATE_DIR, FLOW_VERSION } from '../app.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('flow')
    .description('Crash-safe, journaled provisioning of Linux block devices: every step is recorded before it runs, so any run can be resumed or rolled back exactly.')
    .version(FLOW_VERSION)
    .addOption(new Option('--state-dir <DIR>', 'where run journals live').env('FLOW_STATE_DIR').default(DEFAULT_STATE_DIR))
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let code: number = EXIT.ok;
  registerCommands(program, (c) => (code = c));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    process.stderr.write(messageOf(err) + '\n');
    return exitCodeOf(err);
  }
  return code;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write((err instanceof FlowError ? messageOf(err) : `flow: internal error: ${String(err)}`) + '\n');
    process.exitCode = exitCodeOf(err);
  },
);
