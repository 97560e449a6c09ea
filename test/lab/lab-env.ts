/** Shared by the lab tests: refuse to run where there is no device-mapper. */
import { existsSync, readFileSync } from 'node:fs';

/** Throws (the file fails, never skips) unless this kernel has device-mapper: run it in the kernel lab. */
export function requireLab(): void {
  const misc = existsSync('/proc/misc') ? readFileSync('/proc/misc', 'utf8') : '';
  if (!(existsSync('/dev/mapper/control') && /\bdevice-mapper\b/.test(misc))) {
    throw new Error('no device-mapper here: run the lab tests in the kernel lab (scripts/lab run -q -- npx vitest run --project lab)');
  }
}
