/**
 * What shell completion offers, read from the registered commander program itself, so
 * every command (also those added later) is covered: commands and their subcommands (the
 * workflows under `run` and `plan`), each command's options with what their values are
 * (a file, a directory, one of some choices, or free text), the global options, and the
 * positional arguments (a run id, a workflow, a shell, a command). Run ids are not here:
 * the scripts ask `flow list --json` at completion time.
 */
import type { Argument, Command, Option } from 'commander';
import { readdirSync } from 'node:fs';
import { fileBuiltins, workflows } from '../../../machines/index.js';
import { etcWorkflowsDir, inEtc } from '../../workflow/where.js';

export type ValueKind = { kind: 'file' } | { kind: 'dir' } | { kind: 'choice'; choices: string[] } | { kind: 'text' };
export type ArgKind = { kind: 'id' } | { kind: 'workflow' } | { kind: 'command' } | { kind: 'choice'; choices: string[] } | { kind: 'file' } | { kind: 'none' };

export interface OptSpec {
  /** "--image", and "-h" for "-h, --help" */
  names: string[];
  description: string;
  value?: ValueKind;
  /** a program option, accepted after any command */
  global?: boolean;
}

export interface CmdSpec {
  /** ["run", "snapshot-image"]; [] is the program */
  path: string[];
  description: string;
  options: OptSpec[];
  args: ArgKind[];
  subcommands: CmdSpec[];
}

const HELP: OptSpec = { names: ['-h', '--help'], description: 'display help for command' };

/** The program's spec; global options are repeated on every command (commander accepts them anywhere). */
export function specOf(program: Command): CmdSpec {
  const globals = program.options.filter((o) => !o.hidden).map((o) => ({ ...optionSpec(o), global: true }));
  const walk = (c: Command, path: string[]): CmdSpec => {
    const own = path.length === 0 ? globals : c.options.filter((o) => !o.hidden).map(optionSpec);
    const options = path.length === 0 ? [...own, HELP] : [...own, HELP, ...globals.filter((g) => !g.names.includes('--version') && !own.some((o) => o.names[0] === g.names[0]))];
    const subcommands = c.commands.filter((x) => !(x as unknown as { _hidden?: boolean })._hidden).map((x) => walk(x, [...path, x.name()]));
    if (path.length === 0) subcommands.push({ path: ['help'], description: 'display help for command', options: [], args: [{ kind: 'command' }], subcommands: [] });
    return { path, description: c.description(), options, args: c.registeredArguments.map(argKind), subcommands };
  };
  return walk(program, []);
}

function optionSpec(o: Option): OptSpec {
  const names = [o.short, o.long].filter((x): x is string => !!x);
  const spec: OptSpec = { names, description: o.description };
  if (o.required || o.optional) spec.value = valueKind(o);
  return spec;
}

function valueKind(o: Option): ValueKind {
  if (o.argChoices?.length) return { kind: 'choice', choices: [...o.argChoices] };
  const meta = /<([^>]+)>|\[([^\]]+)\]/.exec(o.flags);
  const name = (meta?.[1] ?? meta?.[2] ?? '').toUpperCase();
  if (name.includes('|')) return { kind: 'choice', choices: name.toLowerCase().split('|') };
  if (name === 'DIR' || name.endsWith('_DIR')) return { kind: 'dir' };
  if (name === 'FILE' || name === 'PATH' || name.endsWith('_FILE')) return { kind: 'file' };
  return { kind: 'text' };
}

function argKind(a: Argument): ArgKind {
  if (a.argChoices?.length) return { kind: 'choice', choices: [...a.argChoices] };
  const n = a.name().toLowerCase();
  if (n === 'id' || n.endsWith('-id') || n === 'ids') return { kind: 'id' };
  if (n === 'workflow') return { kind: 'workflow' };
  if (n === 'command') return { kind: 'command' };
  if (n === 'file' || n === 'path') return { kind: 'file' };
  return { kind: 'none' };
}

/** Every command spec, depth first (the program first). */
export function allSpecs(s: CmdSpec): CmdSpec[] {
  return [s, ...s.subcommands.flatMap(allSpecs)];
}

/** The built-ins and the administrators' workflows (/etc/flow/workflows/NAME.yaml), each once. */
export function workflowNames(): string[] {
  const dir = etcWorkflowsDir();
  let etc: string[] = [];
  try {
    etc = readdirSync(dir).flatMap((f) => (f.endsWith('.yaml') && inEtc(f.slice(0, -5), dir) ? [f.slice(0, -5)] : []));
  } catch {
    // no such directory: the built-ins only
  }
  return [...new Set([...Object.keys(workflows), ...Object.keys(fileBuiltins), ...etc.sort()])];
}

/** Single-quoted for sh/bash/zsh. */
export const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
