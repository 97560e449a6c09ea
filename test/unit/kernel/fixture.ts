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

/** A device-mapper fixture: the VM lab's capture in lab/ when present, else the hand-written one. */
export function dmFixture(name: string): string {
  const lab = `${DIR}lab/${name}`;
  return readFileSync(existsSync(lab) ? lab : `${DIR}handwritten/${name}`, 'utf8');
}

/** A hand-written fixture (formats of versions or states this host cannot produce). */
export function handwritten(name: string): string {
  return readFileSync(`${DIR}handwritten/${name}`, 'utf8');
}
