/**
 * flow's full command line (commander): every command, every option, help and errors.
 * Loaded by main.ts for everything its fast paths do not handle. Every error ends in exit.ts.
 */
import { Command, CommanderError, Option } from 'commander';
import { FlowError } from '../errors.js';
import { exitCodeOf, messageOf, EXIT } from './exit.js';
import { registerCommands } from './commands/index.js';
import { registerVerify } from './commands/verify.js';
import { DEFAULT_STATE_DIR, FLOW_VERSION } from '../version.js';

/** "flow run snapshot-image" for that command. */
function pathOf(c: Command): string {
  const names: string[] = [];
  for (let x: Command | null = c; x; x = x.parent) names.unshift(x.name());
  return names.join(' ');
}

/** What a command that only dispatches offers: "workflows: a, b, c" / "commands: ...". */
function choices(c: Command): string {
  return `${c.parent ? 'workflows' : 'commands'}: ${c.commands.map((x) => x.name()).join(', ')} (see \`${pathOf(c)} --help\`)`;
}

/**
 * commander's own errors (unknown option or command, missing argument, ...) in flow's
 * form: "flow: <what is wrong>", then indented lines saying what to do. Exit 2 (main).
 */
function commanderMessage(c: Command, text: string): string {
  const [first = '', ...more] = text.trim().split('\n');
  let problem = first.replace(/^error: /, '');
  let hint = `usage: ${pathOf(c)} ${c.usage()}; see \`${pathOf(c)} --help\``;
  if (c.commands.length > 0 && problem.startsWith('unknown command')) {
    if (c.parent) problem = problem.replace('unknown command', 'unknown workflow');
    hint = choices(c);
  }
  return [`flow: ${problem}`, ...more.map((l) => `  ${l.trim()}`), `  ${hint}`].join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('flow')
    .description('Crash-safe, journaled provisioning of Linux block devices: every step is recorded before it runs, so any run can be resumed or rolled back exactly.')
    .version(FLOW_VERSION)
    .addOption(new Option('--state-dir <DIR>', 'where run journals live').env('FLOW_STATE_DIR').default(DEFAULT_STATE_DIR))
    .option('--verbose', 'show every command flow executes: argv, exit code, duration (on stderr)')
    .addOption(new Option('--log-format <FORMAT>', 'format of log lines on stderr').choices(['text', 'json']).default('text'))
    .exitOverride()
    .showHelpAfterError(false);
  let code: number = EXIT.ok;
  registerCommands(program, (c) => (code = c));
  registerVerify(program, (c) => (code = c));
  // a command given without its subcommand ("flow", "flow run"): commander would print the
  // whole help to stderr; flow says what is missing instead (below)
  let helpError: Command | undefined;
  const configure = (c: Command) => {
    c.configureOutput({ writeErr: () => undefined, outputError: (s) => process.stderr.write(commanderMessage(c, s)) });
    c.on('afterHelp', (ctx: { error: boolean }) => ctx.error && (helpError = c));
    c.commands.forEach(configure);
  };
  configure(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.ok; // --help, --version
      if (err.code === 'commander.help') {
        const c = helpError ?? program;
        const asked = argv[argv.indexOf('help', 2) + 1]; // "flow help nope"
        const problem = argv.includes('help', 2) && asked ? `unknown command '${asked}'` : `no ${c.parent ? 'workflow' : 'command'} given`;
        process.stderr.write(`flow: ${problem}\n  ${choices(c)}\n`);
      }
      return EXIT.usage;
    }
    process.stderr.write(messageOf(err) + '\n');
    return exitCodeOf(err);
  }
  return code;
}

/** main() with its exit code; an error that escapes it (a bug) is reported in flow's form too. */
export async function run(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    process.stderr.write((err instanceof FlowError ? messageOf(err) : `flow: internal error: ${String(err)}`) + '\n');
    return exitCodeOf(err);
  }
}
