/**
 * Every command, in the order `flow --help` lists them, each registered by its own module,
 * loaded only when the command line names that command (start-up: a command initialises
 * only what it needs; the bundle's code is compiled from its code cache either way). Help,
 * an unknown or missing command, and `flow completion` (which describes them all) load every one.
 *
 * A new command: one entry here, `{ names: ['verify'], load: async () => (await import('./verify.js')).registerVerify }`,
 * where registerVerify(program, setCode) registers the command(s) named in `names` (and no other).
 */
import type { Command } from 'commander';
import type { SetCode } from './common.js';
import type { WorkflowCommand } from './run.js';

/** `given`: a workflow file or an administrator's workflow named on this command line (program.ts); run and plan use it */
type Register = (program: Command, setCode: SetCode, given: WorkflowCommand[]) => void;

interface Entry {
  /** the command names the module registers */
  names: readonly string[];
  load: () => Promise<Register>;
  /** the command describes the whole command line (completion): every command is loaded */
  all?: true;
}

export const COMMANDS: readonly Entry[] = [
  { names: ['run'], load: async () => (await import('./run.js')).registerRun },
  { names: ['resume', 'rollback'], load: async () => (await import('./recovery.js')).registerRecovery },
  { names: ['plan'], load: async () => (await import('./plan.js')).registerPlan },
  { names: ['check'], load: async () => (await import('./check.js')).registerCheck },
  { names: ['verify'], load: async () => (await import('./verify.js')).registerVerify },
  { names: ['exec'], load: async () => (await import('./exec.js')).registerExec },
  { names: ['export'], load: async () => (await import('./export.js')).registerExport },
  { names: ['recover'], load: async () => (await import('./recover.js')).registerRecover },
  { names: ['resolve'], load: async () => (await import('./resolve.js')).registerResolve },
  { names: ['doctor'], load: async () => (await import('./doctor.js')).registerDoctor },
  { names: ['prune'], load: async () => (await import('./prune.js')).registerPrune },
  { names: ['completion'], load: async () => (await import('./completion.js')).registerCompletion, all: true },
  { names: ['list'], load: async () => (await import('./inspect.js')).registerList },
  { names: ['show'], load: async () => (await import('./show.js')).registerShow },
  { names: ['log'], load: async () => (await import('./inspect.js')).registerLog },
  { names: ['workflows'], load: async () => (await import('./inspect.js')).registerWorkflows },
];

/** `flow --help`'s examples. */
export const FLOW_EXAMPLES = `\nExamples:\n${[
  ['flow run snapshot-image --image raspios.img', "a writable snapshot of the image's root partition"],
  ['flow list', 'the runs, oldest first'],
  ['flow rollback k3m9x2ab', 'undo a run'],
  ['flow <command> --help', "a command's options and examples"],
].map(([c, d]) => `  ${c!.padEnd(46)}${d}`).join('\n')}`;

/** The program's options that take a value (program.ts): their value is not the command. */
export const VALUED = new Set(['--state-dir', '--log-format']);

/** The command `args` (argv without node and the script) names, as commander will find it: its first operand. */
export function commandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (VALUED.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

/** The entries the command line `args` needs: the one it names, or all of them. */
export function entriesFor(args: readonly string[]): readonly Entry[] {
  const name = commandOf(args);
  const named = COMMANDS.filter((c) => name !== undefined && c.names.includes(name));
  return named.length === 1 && !named[0]!.all ? named : COMMANDS;
}

export async function registerCommands(program: Command, setCode: SetCode, args: readonly string[], given: WorkflowCommand[] = []): Promise<void> {
  program.addHelpText('after', FLOW_EXAMPLES);
  const entries = entriesFor(args);
  for (const register of await Promise.all(entries.map((e) => e.load()))) register(program, setCode, given);
}
