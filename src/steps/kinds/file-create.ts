/**
 * file.create: a new backing file (0600, fsynced with its directory, so it survives a
 * power cut). The run owns only a file its own create made, never one that appeared at
 * the path meanwhile (another process): the intent records a proof for the attempt (a
 * private temp name and an mtime stamp, see createBackingFile), the outcome records the
 * file's identity (inode + birth time). Before the outcome the proof tells flow's file
 * from a foreign one; after it, the identity. Anything else at the path is never
 * recorded as applied, never cleaned, never removed.
 */
import { KernelError, UsageError } from '../../errors.js';
import { createBackingFile, describeIdentity, identityOf, newCreationProof, removeOwnedFile, sameFile, statOrNull, type CreationProof, type FileIdentity } from '../../kernel/files.js';
import type { Fs, FsStat } from '../../fs/types.js';
import type { Json } from '../../../machines/types.js';
import { line, num, str, type Executor, type ProbeResult } from '../types.js';
import { z } from '../../zod.js';
import { lazy } from './schema.js';
import { defineKind, type KindSpec } from './spec.js';

/** Its resolved arguments and the outputs its apply records (built at the first call). */
const schemas = lazy(() => ({
  args: z.strictObject({ path: z.string().describe('the file to create (it must not exist)'), size: z.int().describe('its size in bytes') }),
  outputs: z.strictObject({
    path: z.string().describe('the file'),
    dev: z.string().describe("its filesystem's major:minor"),
    ino: z.int().describe('its inode'),
    birth: z.string().optional().meta({ internal: true, description: 'its birth time in ns, when the filesystem reports one' }),
  }),
}));

export type FileArgs = z.infer<ReturnType<typeof schemas>['args']>;

/** The proof recorded in the intent; undefined in a journal of an older flow (none recorded). */
function proofOf(marker: Json): CreationProof | undefined {
  return typeof marker.temp === 'string' && typeof marker.mtimeMs === 'number' ? { temp: marker.temp, mtimeMs: marker.mtimeMs } : undefined;
}

/** The identity recorded in the outputs (`birth` absent in older journals). */
function recorded(outputs: Json): FileIdentity {
  const birth = outputs.birth;
  return { dev: str(outputs, 'dev'), ino: num(outputs, 'ino'), ...(typeof birth === 'string' ? { birth } : {}) };
}

const applied = (path: string, st: FsStat): ProbeResult => ({ found: 'applied', outputs: { path, ...identityOf(st) } });

/** Is `st` (at the path, or at the temp name) what this attempt made, by its proof? */
const stamped = (st: FsStat | null, proof: CreationProof): st is FsStat => st !== null && st.kind === 'file' && st.mtimeMs === proof.mtimeMs;

async function probeByProof(fs: Fs, a: FileArgs, proof: CreationProof): Promise<ProbeResult> {
  const [temp, at] = [await statOrNull(fs, proof.temp), await statOrNull(fs, a.path)];
  if (temp) {
    // the temp name is the attempt's own: made by its O_EXCL open
    if (temp.kind !== 'file') return { found: 'unknown', detail: `${proof.temp} (flow's private temp name) is a ${temp.kind}` };
    return { found: 'partial', detail: `${proof.temp} is left from an interrupted create` };
  }
  if (!at) return { found: 'absent' };
  if (!stamped(at, proof)) return { found: 'absent', detail: `${a.path} was made by something else, not by this run (left untouched)` };
  if (at.size !== a.size) return { found: 'partial', detail: `${a.path} has ${at.size} bytes, not ${a.size}` };
  return applied(a.path, at);
}

export const fileCreate: Executor<FileArgs> = {
  async observe(a) {
    return { ...newCreationProof(a.path) };
  },
  async apply(a, marker, env) {
    const proof = proofOf(marker);
    if (!proof) throw new KernelError('EINVAL', `no creation proof recorded for ${a.path}`);
    const id = await createBackingFile(env.kernel.fs, a.path, a.size, proof, env.midpoint);
    return { path: a.path, ...id };
  },
  async probe(a, marker, outputs, env) {
    const fs = env.kernel.fs;
    if (outputs) {
      // the identity is recorded (an applied step after a reboot, or one being undone)
      const st = await statOrNull(fs, a.path);
      if (!st) return { found: 'absent' };
      const same = st.kind === 'file' ? sameFile(st, recorded(outputs)) : 'other';
      if (same === 'other') return { found: 'absent', detail: `${a.path} is another ${st.kind} than the file the run created (left untouched)` };
      if (same === 'unsure') return { found: 'unknown', detail: `${a.path} has the inode the run recorded (${describeIdentity(recorded(outputs))}) but another device (${st.dev}) and no birth time: flow cannot tell whether it is the run's file` };
      if (st.size !== a.size) return { found: 'partial', detail: `${a.path} has ${st.size} bytes, not ${a.size}` };
      return applied(a.path, st);
    }
    const proof = proofOf(marker);
    if (proof) return probeByProof(fs, a, proof);
    // an intent written by an older flow: no proof to tell the run's file from another
    const st = await statOrNull(fs, a.path);
    if (!st) return { found: 'absent' };
    return { found: 'unknown', detail: `${a.path} exists and the journal (written by an older flow) holds no proof that this run created it` };
  },
  async clean(a, marker, env, outputs) {
    const fs = env.kernel.fs;
    if (outputs) {
      await removeOwnedFile(fs, a.path, recorded(outputs));
      return;
    }
    const proof = proofOf(marker);
    if (!proof) throw new KernelError('EINVAL', `no creation proof recorded for ${a.path}: not removing it`);
    const temp = await statOrNull(fs, proof.temp);
    if (temp) {
      if (temp.kind !== 'file') throw new KernelError('EINVAL', `${proof.temp} is a ${temp.kind}; not removing it`);
      // the path is the run's only while it is the temp file's other name (the same inode)
      await removeOwnedFile(fs, a.path, identityOf(temp)).catch((err: unknown) => {
        if (!(err instanceof KernelError && err.code === 'EINVAL')) throw err;
      });
      await removeOwnedFile(fs, proof.temp, identityOf(temp));
      return;
    }
    const at = await statOrNull(fs, a.path);
    if (stamped(at, proof)) await removeOwnedFile(fs, a.path, identityOf(at));
  },
  async undo(a, outputs, env) {
    await removeOwnedFile(env.kernel.fs, a.path, recorded(outputs));
  },
  commands(a) {
    return { apply: [line('truncate', '-s', a.size, '--', a.path)], undo: [line('rm', '--', a.path)] };
  },
};

export const spec: KindSpec = defineKind({
  kind: 'file.create',
  summary: 'a new file of a size (0600, fsynced with its directory); the run owns only the file its own create made',
  durable: true,
  schemas,
  inverse: { undo: 'removes the file (only the one the run created)' },
  // the run creates the file (and its rollback removes it): never one that is there already
  refuses: 'a path that exists',
  preflight: async (a, env) => {
    if (typeof a.path !== 'string' || (await env.kernel.fs.lstat(a.path).catch(() => null)) === null) return;
    throw new UsageError(`${env.option('path')} ${a.path} exists`, 'give a path that does not exist yet: the run creates the file, and its rollback removes it');
  },
  midpoint: 'executor',
  placeholders: (a, p) => ({ path: a.path, dev: p('filesystem device'), ino: p('inode') }),
  show: { node: 'file', from: () => [] },
});
