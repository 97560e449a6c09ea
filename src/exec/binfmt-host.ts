/** binfmt_misc on this host: its status and entries, read from /proc/sys/fs/binfmt_misc (parsed by binfmt.ts). */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseBinfmtEntry, type BinfmtEntry } from './binfmt.js';

export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc';

export interface BinfmtState {
  status: 'enabled' | 'disabled' | 'absent';
  entries: BinfmtEntry[];
}

export async function readBinfmt(dir: string = BINFMT_DIR): Promise<BinfmtState> {
  let status: string;
  try {
    status = (await readFile(path.join(dir, 'status'), 'utf8')).trim();
  } catch {
    return { status: 'absent', entries: [] };
  }
  const entries: BinfmtEntry[] = [];
  for (const name of (await readdir(dir)).sort()) {
    if (name === 'status' || name === 'register') continue;
    const text = await readFile(path.join(dir, name), 'utf8').catch(() => undefined);
    const e = text === undefined ? undefined : parseBinfmtEntry(name, text);
    if (e) entries.push(e);
  }
  return { status: status === 'enabled' ? 'enabled' : 'disabled', entries };
}
