/**
 * Reading and writing small kernel files (/sys, /proc) with node:fs. Errors become
 * KernelErrors with the errno's code (a sysfs write reports EBUSY/EINVAL itself).
 */
import { access, readFile, readdir, writeFile } from 'node:fs/promises';
import { KernelError } from '../../errors.js';
import { codeFromErrno } from '../parse/error-code.js';

function toKernelError(err: unknown, what: string): KernelError {
  const errno = (err as { code?: string }).code;
  return new KernelError(codeFromErrno(errno), `${what}: ${(err as Error).message}`);
}

/** True when the path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** The file's text, trimmed. */
export async function readText(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw toKernelError(err, `cannot read ${path}`);
  }
}

/** Writes `value` to a sysfs attribute (one write(2)); the kernel's errno becomes the code. */
export async function writeText(path: string, value: string): Promise<void> {
  try {
    await writeFile(path, value);
  } catch (err) {
    throw toKernelError(err, `cannot write ${JSON.stringify(value)} to ${path}`);
  }
}

/** Directory entries; [] when the directory does not exist. */
export async function listDir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return [];
    throw toKernelError(err, `cannot list ${path}`);
  }
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
