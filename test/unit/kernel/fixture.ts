/** Loads tool output captured under test/fixtures/captured/ (see its README.md). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { KernelError } from '../../../src/errors.js';

const DIR = fileURLToPath(new URL('../../fixtures/captured/', import.meta.url));

/** A captured file's text (or bytes with `binary`). */
export function captured(name: string): string {
  return readFileSync(DIR + name, 'utf8');
}

/** A captured binary file. */
export function capturedBytes(name: string): Buffer {
  return readFileSync(DIR + name);
}

/** True when the VM lab's capture `lab/NAME` exists (lab/ is filled by the kernel lab, see README.md). */
export function hasLab(name: string): boolean {
  return existsSync(`${DIR}lab/${name}`);
}

/** A capture from the VM lab (a kernel with device-mapper). */
export function lab(name: string): string {
  return readFileSync(`${DIR}lab/${name}`, 'utf8');
}

/** A hand-written fixture (formats of versions or states this host cannot produce). */
export function handwritten(name: string): string {
  return readFileSync(`${DIR}handwritten/${name}`, 'utf8');
}

/** The KernelError a promise rejects with (the test fails when it resolves or throws something else). */
export async function failure(p: Promise<unknown>): Promise<KernelError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KernelError);
  return err as KernelError;
}
