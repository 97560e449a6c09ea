/**
 * Where administrators' workflows live, and whether a command-line word names a file or a
 * workflow: small enough for every command (no YAML parser here).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { testSeam } from '../test-seam.js';

/** /etc/flow/workflows; only a test seam may point elsewhere (src/testing/switches.ts). */
export function etcWorkflowsDir(): string {
  return testSeam()?.workflowsDir ?? '/etc/flow/workflows';
}

/** A workflow given as a path rather than a name: a `/` in it, or a .yaml/.yml file name. */
export function isPathArg(arg: string): boolean {
  return arg.includes('/') || /\.ya?ml$/.test(arg);
}

/** `name` has a file in the administrators' directory (it shadows a built-in of that name). */
export function inEtc(name: string, etcDir = etcWorkflowsDir()): boolean {
  return /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/.test(name) && existsSync(path.join(etcDir, `${name}.yaml`));
}
