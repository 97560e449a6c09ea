/**
 * Preflight of a workflow file: resolves every param before anything changes, by its type:
 * an existing file (read, identity, filesystem, loop bindings), a file (existing, or a path
 * whose directory exists), a directory (a mount point: empty or made by the run), a
 * partition of an image param (the number given, the one an fstab names, or the largest
 * Linux one; its filesystem), scalars as their options; each param's own checks as soon as
 * it is known; then the file's `checks:` and each step's kind.
 */
import path from 'node:path';
import { identityOf } from '../kernel/files.js';
import { readOnceView } from '../kernel/read-view.js';
import type { FsStat } from '../fs/types.js';
import { UsageError } from '../errors.js';
import type { Value } from '../workflow/evaluate.js';
import { optionKey, type ParamDef } from '../workflow/params.js';
import { instantiate, refuseByChecks, resolveParamsOnHost, type HostFacts, type RunFacts } from '../workflow/resolve.js';
import type { LoadedWorkflow } from '../workflow/source.js';
import { checkFsFits, checkMountpoint, existingFile, statOrNull } from './files.js';
import { partitionFromFstab } from './fstab-partition.js';
import { preflightSteps } from './kinds.js';
import { choosePartition } from './partition.js';
import type { PreflightEnv, RawOptions } from './types.js';
import { checkPath } from './values.js';

export interface Preflighted {
  /** the workflow file's params: what instantiates its definition, what the run records and `flow show` prints */
  params: Record<string, Value>;
  /** the run facts its expressions read */
  run: { dir: string; uuid: string };
}

/** The options given, by param name: commander keys them as optionKey says (read-delay → readDelay, --no-mount → mount). */
export function givenOf(raw: RawOptions, names: readonly string[]): Record<string, string | boolean | undefined> {
  return Object.fromEntries(names.map((n) => [n, raw[optionKey(n)]]));
}

function dirValue(m: { mountpoint: string; mountDirs: string[] }): Value {
  return { path: m.mountpoint, exists: m.mountDirs.length === 0, create: m.mountDirs };
}

/**
 * What flow finds in an existing file: its filesystem (refused when it claims more bytes than
 * the file holds: a truncated or damaged image) and the loop device it is attached at.
 */
async function fileFacts(env: PreflightEnv, opt: string, f: { path: string; st: FsStat }): Promise<Record<string, Value>> {
  const fs = await env.kernel.filesystems.probe(f.path);
  checkFsFits(`${opt} ${f.path}`, fs, f.st.size);
  const bindings = (await env.kernel.loop.list()).filter((l) => l.backingDev === f.st.dev && l.backingIno === f.st.ino);
  return {
    path: f.path,
    identity: identityOf(f.st) as unknown as Value,
    size: f.st.size,
    filesystem: fs?.type ?? null,
    'filesystem-size': fs?.blockSize !== undefined && fs.blockCount !== undefined ? fs.blockSize * fs.blockCount : 0,
    attached: bindings[0]?.device ?? null,
    'attached-read-write': bindings.find((l) => !l.readOnly)?.device ?? null,
  };
}

const NO_FILE: Record<string, Value> = { path: '', identity: null, size: 0, filesystem: null, 'filesystem-size': 0, attached: null, 'attached-read-write': null };

/** The size of the filesystem holding a directory (0 when the host cannot tell). */
async function roomIn(env: PreflightEnv, dir: string): Promise<number> {
  return (await env.kernel.fs.fsSize?.(dir)) ?? 0;
}

/** Resolves a param that names something on the host. */
async function hostParam(env: PreflightEnv, name: string, p: ParamDef, text: string, sofar: Readonly<Record<string, Value>>): Promise<Value> {
  const opt = `--${name}`;
  const k = env.kernel;
  // a file param whose default is '' is optional: left out, it names no file (as a built-in's --cow-file)
  if (p.type === 'existing-file' && text === '' && p.default === '') return NO_FILE;
  if (p.type === 'file' && text === '' && p.default === '') return { ...NO_FILE, room: 0 };
  switch (p.type) {
    case 'existing-file': {
      return fileFacts(env, opt, await existingFile(k.fs, opt, checkPath(opt, text, env.cwd)));
    }
    case 'file': {
      const p0 = checkPath(opt, text, env.cwd);
      if (await statOrNull(k.fs, p0, `${opt} ${p0}`)) {
        const f = await existingFile(k.fs, opt, p0);
        return { ...(await fileFacts(env, opt, f)), room: await roomIn(env, path.dirname(f.path)) };
      }
      const parent = await statOrNull(k.fs, path.dirname(p0), `${opt} ${p0}`);
      if (!parent || parent.kind !== 'dir') throw new UsageError(`${opt} ${p0}: directory ${path.dirname(p0)} does not exist`, `create it first (mkdir -p ${path.dirname(p0)})`);
      return { ...NO_FILE, path: p0, room: await roomIn(env, path.dirname(p0)) };
    }
    case 'directory':
      return dirValue(await checkMountpoint(k, opt, checkPath(opt, text, env.cwd)));
    case 'partition': {
      const image = sofar[p.of] as { path: string; size: number };
      const fstab = p.fstab ? await partitionFromFstab(env, name, p.fstab, image.path, text, sofar) : undefined;
      const r = await choosePartition(env, image.path, image.size, fstab?.number ?? (text === '' ? undefined : text), opt);
      const fs = await k.filesystems.probe(image.path, r.partStart * 512);
      return {
        ...(fstab ? { 'mounted-at': fstab.mountedAt, 'found-by': fstab.foundBy } : {}),
        number: r.partition,
        start: r.partStart,
        sectors: r.partSectors,
        filesystem: fs?.type ?? null,
        'block-size': fs?.blockSize ?? 0,
        'filesystem-size': fs?.blockSize !== undefined && fs.blockCount !== undefined ? fs.blockSize * fs.blockCount : 0,
      };
    }
    default:
      throw new Error(`${opt}: ${p.type} is not read from the host`);
  }
}

/** The params resolved on this host, then each resolved step checked by its kind's preflight (kinds.ts). */
export async function preflightWorkflow(l: LoadedWorkflow, raw: RawOptions, env0: PreflightEnv): Promise<Preflighted> {
  // preflight changes nothing: each listing and probe is read once, shared by the workflow's checks and its steps' kind checks
  const env = { ...env0, kernel: readOnceView(env0.kernel) };
  const pf = await resolveParams(l, raw, env);
  await preflightSteps(l.workflow, instantiate(l.workflow, pf.params, { id: env.id, ...pf.run }, true).steps, env.kernel);
  return pf;
}

async function resolveParams(l: LoadedWorkflow, raw: RawOptions, env: PreflightEnv): Promise<Preflighted> {
  const run = { dir: env.runDir, uuid: env.newUuid() };
  const facts: RunFacts = { id: env.id, ...run };
  const given = givenOf(raw, l.workflow.params.map(([n]) => n));
  const host: HostFacts = { memory: await env.kernel.system.memTotal() };
  const params = await resolveParamsOnHost(l.workflow, given, facts, env.cwd, (name, p, text, sofar) => hostParam(env, name, p, text, sofar), host);
  refuseByChecks(l.workflow, params, facts, given, host);
  return { params, run };
}
