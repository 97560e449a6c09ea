/** What every command module gets: the program's global options and a way to set the exit code. */
import type { Command } from 'commander';

export type SetCode = (code: number) => void;

/** Global options (main.ts): --state-dir, --verbose, --log-format. */
export interface GlobalOpts {
  stateDir: string;
  verbose?: boolean;
  logFormat?: 'text' | 'json';
}

export const globalOpts = (cmd: Command): GlobalOpts => cmd.optsWithGlobals() as GlobalOpts;
