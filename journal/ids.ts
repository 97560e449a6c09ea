/** Run ids: 8 characters of an unambiguous lowercase alphabet (no 0/o/1/l/i). */
import { customAlphabet } from 'nanoid';

export const RUN_ID_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
export const RUN_ID_PATTERN = /^[23456789abcdefghjkmnpqrstuvwxyz]{8}$/;

const make = customAlphabet(RUN_ID_ALPHABET, 8);

/** A fresh random run id. */
export function newRunId(): string {
  return make();
}

/** True for a well-formed run id (so it is safe to use in a path). */
export function isRunId(s: string): boolean {
  return RUN_ID_PATTERN.test(s);
}
