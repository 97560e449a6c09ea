/** Loads tool output captured under test/fixtures/captured/ (see its README.md). */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

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
