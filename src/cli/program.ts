/**
 * flow's full command line (commander): every command, every option, help and errors.
 * Loaded by main.ts for everything its fast paths do not handle. Every error ends in exit.ts.
 */
import { Command, CommanderError, Option } from 'commander';
import { FlowError } from '../errors.js';
import { exitCodeOf, messageOf, EXIT } from './exit.js';
import { COMMANDS, registerCommands, VALUED } from './commands/index.js';
import { fileCommand, type WorkflowCommand } from './commands/run.js';
import { inEtc, isPathArg } from '../workflow/where.js';
import { fileBuiltins } from '../../machines/index.js';
import { EXEC_BINDS } from '../exec/names.js';
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

/**
 * The workflow word of `flow [global options] run|plan|verify WORD ...` when it is a file or an
 * administrator's workflow: loaded before the command line is built, so its params become
 * the subcommand's options. A built-in not shadowed in /etc needs no loading here.
 */
async function givenWorkflows(argv: string[]): Promise<WorkflowCommand[]> {
  let i = 2;
  while (i < argv.length && argv[i]!.startsWith('-')) i += VALUED.has(argv[i]!) ? 2 : 1;
  const cmd = argv[i];
  // `flow run --key KEY WORKFLOW`: run's own option may come before the workflow
  let j = i + 1;
  while (cmd === 'run' && (argv[j] === '--key' || argv[j]?.startsWith('--key='))) j += argv[j] === '--key' ? 2 : 1;
  const word = argv[j];
  // completion describes every workflow: the administrators' too
  if (cmd === 'completion') return (await import('./commands/completion.js')).etcWorkflowCommands();
  if ((cmd !== 'run' && cmd !== 'plan' && cmd !== 'verify') || word === undefined || word.startsWith('-')) return [];
  // flow exec's internal bind workflow: never run by name (flow exec runs it), but verifiable
  if (cmd === 'verify' && word === EXEC_BINDS && !inEtc(word)) return [await (await import('./commands/verify.js')).execBindsCommand()];
  if (!isPathArg(word) && !inEtc(word) && !Object.hasOwn(fileBuiltins, word)) return [];
  return [await fileCommand(word)];
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
  let given: WorkflowCommand[];
  try {
    given = await givenWorkflows(argv);
  } catch (err) {
    process.stderr.write(messageOf(err) + '\n');
    return exitCodeOf(err);
  }
  // only the command argv names is loaded (commands/index.ts)
  await registerCommands(program, (c) => (code = c), argv.slice(2), given);
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

/** The build's code cache (code-cache.ts, makeCache): every command's modules initialised, none run. */
export async function warm(): Promise<void> {
  await Promise.all(COMMANDS.map((c) => c.load()));
}
