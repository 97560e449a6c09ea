/** DmFacility on the real kernel: dmsetup, always with a timeout (see exec.ts). */
import { release } from 'node:os';
import { KernelError } from '../../errors.js';
import { runCommand, type CommandResult, type RunOptions } from '../exec.js';
import { checkTableLine, conciseSpec, parseTableOutput } from '../parse/dm-table.js';
import { DM_INFO_ARGS, parseDmCreated, parseDmInfo, parseDmTargets } from '../parse/dmsetup.js';
import type { DmCreateArgs, DmFacility, DmInfo } from '../types.js';
import { readText } from './sysfs.js';

const SAFE = /^[0-9A-Za-z#+\-.:=@_]+$/;
/** How often a listing that raced with a removal is taken again. */
const LIST_ATTEMPTS = 5;

/** Refuses names/UUIDs dmsetup would mangle, that are too long, or that look like options (EINVAL). */
export function checkDmId(value: string, what: 'name' | 'uuid'): void {
  const max = what === 'name' ? 127 : 128;
  if (!SAFE.test(value) || value.startsWith('-') || Buffer.byteLength(value) > max) {
    throw new KernelError('EINVAL', `bad device-mapper ${what} ${JSON.stringify(value)}: 1-${max} bytes of [0-9A-Za-z#+-.:=@_], not starting with "-"`);
  }
}

/**
 * ENOTSUP without running dmsetup when the kernel has no device-mapper: no
 * "device-mapper" in /proc/misc and no dm-mod module to autoload.
 */
async function ensureDeviceMapper(): Promise<void> {
  // Not /dev/mapper/control: dmsetup mknods that node whenever it runs (`flow doctor`'s
  // `dmsetup --version` too), so on a kernel without device-mapper a stale node would let
  // every command through to dmsetup's raw "open failed: No such device".
  if (/\bdevice-mapper\b/.test(await readText('/proc/misc').catch(() => ''))) return;
  const dir = `/lib/modules/${release()}`;
  for (const f of ['modules.dep', 'modules.builtin']) {
    if (/\/dm-mod\.ko/.test(await readText(`${dir}/${f}`).catch(() => ''))) return;
  }
  throw new KernelError('ENOTSUP', 'device-mapper is not available: this kernel has no device-mapper driver loaded (/proc/misc) and no dm-mod module');
}

/** The device `dmsetup create -v` printed, when it is the one asked for; undefined when the output is not dmsetup's long info. */
function createdOf(printed: string, args: DmCreateArgs): DmInfo | undefined {
  try {
    const d = parseDmCreated(printed);
    return d.name === args.name && d.uuid === args.uuid ? d : undefined;
  } catch (err) {
    if (err instanceof KernelError) return undefined;
    throw err;
  }
}

/** Options for tests: `checkDriver: false` skips the device-mapper presence check (a fake dmsetup on PATH). */
export interface DmOptions {
  checkDriver?: boolean;
}

/** The real device-mapper facility. */
export function createRealDm(options: DmOptions = {}): DmFacility {
  async function dmsetup(args: string[], opts?: RunOptions): Promise<CommandResult> {
    if (options.checkDriver !== false) await ensureDeviceMapper();
    return runCommand(['dmsetup', ...args], opts);
  }

  /**
   * `dmsetup info -c` reads the names, then each device: one removed in between (another
   * flow rolling back, anyone) fails the whole listing with "Device does not exist."
   * (seen in the lab with 8 rollbacks at once), so the listing is taken again.
   */
  async function list(): Promise<DmInfo[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return parseDmInfo((await dmsetup([...DM_INFO_ARGS])).stdout);
      } catch (err) {
        if (!(err instanceof KernelError && err.code === 'ENXIO') || attempt >= LIST_ATTEMPTS) throw err;
      }
    }
  }

  async function info(name: string): Promise<DmInfo | null> {
    checkDmId(name, 'name');
    try {
      return parseDmInfo((await dmsetup([...DM_INFO_ARGS, name])).stdout).find((d) => d.name === name) ?? null;
    } catch (err) {
      if (err instanceof KernelError && err.code === 'ENXIO') return null;
      throw err;
    }
  }

  async function taken(name: string, uuid: string): Promise<DmInfo | undefined> {
    return (await list()).find((d) => d.name === name || d.uuid === uuid);
  }

  async function create(args: DmCreateArgs): Promise<DmInfo> {
    checkDmId(args.name, 'name');
    checkDmId(args.uuid, 'uuid');
    if (args.table.length === 0) throw new KernelError('EINVAL', `empty table for ${args.name}`);
    const table = args.table.map(checkTableLine);
    let printed: string;
    try {
      // the table in argv, never on stdin (see conciseSpec); stdin is /dev/null (exec.ts).
      // No listing first: the kernel refuses a name or UUID in use, atomically (EBUSY), where
      // a listing before could only race with another creator; the listing is taken after
      // such a refusal, to say which device holds what. `-v`: dmsetup prints the device it
      // made (its number), so no `dmsetup info` after it.
      printed = (await dmsetup(['create', '-v', '--concise', conciseSpec(args.name, args.uuid, table)])).stdout;
    } catch (err) {
      if (!(err instanceof KernelError && err.code === 'EBUSY')) throw err;
      const clash = await taken(args.name, args.uuid);
      if (!clash) throw err;
      const what = clash.name === args.name ? `device-mapper name ${args.name} is taken by another device (UUID ${clash.uuid || 'none'})` : `device-mapper UUID ${args.uuid} is taken by ${clash.name}`;
      throw new KernelError('EEXIST', what, err.argv, err.exitCode, err.stderr);
    }
    const shown = createdOf(printed, args);
    if (shown) return shown;
    // a dmsetup that printed something else: ask for the device
    const created = await info(args.name);
    if (!created) throw new KernelError('EFAIL', `dmsetup created ${args.name} but it is not listed`);
    return created;
  }

  async function table(name: string): Promise<string[]> {
    checkDmId(name, 'name');
    return parseTableOutput((await dmsetup(['table', name])).stdout);
  }

  async function status(name: string): Promise<string[]> {
    checkDmId(name, 'name');
    return parseTableOutput((await dmsetup(['status', name])).stdout);
  }

  async function resume(name: string): Promise<void> {
    checkDmId(name, 'name');
    await dmsetup(['resume', name]);
  }

  async function remove(uuid: string): Promise<void> {
    checkDmId(uuid, 'uuid');
    // "<device> may be device name or (if only one) -u <uuid>" (dmsetup --help); no listing
    // first: dmsetup says "Device does not exist." for a UUID no device has (ENXIO)
    try {
      await dmsetup(['remove', '--retry', '-u', uuid]);
    } catch (err) {
      if (err instanceof KernelError && err.code === 'ENXIO') throw new KernelError('ENXIO', `no device-mapper device with UUID ${uuid}`, err.argv, err.exitCode, err.stderr);
      throw err;
    }
  }

  async function targets(): Promise<{ name: string; version: string }[]> {
    return parseDmTargets((await dmsetup(['targets'])).stdout);
  }

  return { list, info, create, table, status, resume, remove, targets };
}
