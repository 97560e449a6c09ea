/** `flow completion` (issue 4) — registered by index.ts; being written. */
import type { Command } from 'commander';
import type { SetCode } from './common.js';

export function registerCompletion(program: Command, setCode: SetCode): void {
  void program;
  void setCode;
}
