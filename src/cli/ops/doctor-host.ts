/**
 * `flow doctor`, the host: root, the tools flow runs (with their versions), the
 * device-mapper driver and targets, zram, udev. Every command goes through
 * src/kernel/exec.ts. The dm checks ask `kernel` (a test build's fake kernel, so tests
 * can make them pass; the shipped binary always the host's); the rest is always the host.
 */
import { access } from 'node:fs/promises';
import { KernelError } from '../../errors.js';
import { DEBIAN_PACKAGES, runCommand } from '../../kernel/exec.js';
import type { Kernel } from '../../kernel/types.js';
import { fail, ok, warn, type Check } from './doctor-types.js';

export const NO_DM = 'this kernel has no device-mapper; use a kernel with CONFIG_BLK_DEV_DM or run inside scripts/lab';

/** The tools flow runs, and how each prints its version (some only on stderr, resize2fs with exit 1). */
const TOOLS: [tool: string, args: string[], okCodes: number[]][] = [
  ['losetup', ['--version'], [0]],
  ['dmsetup', ['--version'], [0]],
  ['sfdisk', ['--version'], [0]],
  ['blockdev', ['--version'], [0]],
  ['blkid', ['--version'], [0]],
  ['mkfs.ext4', ['-V'], [0]],
  ['resize2fs', [], [0, 1]],
  ['findmnt', ['--version'], [0]],
  ['mount', ['--version'], [0]],
  ['umount', ['--version'], [0]],
  ['flock', ['--version'], [0]],
];
const PACKAGES: Record<string, string> = { ...DEBIAN_PACKAGES, findmnt: 'util-linux', flock: 'util-linux' };

/** dm targets flow's workflows load, and the module that provides each. */
const TARGETS: [target: string, module: string][] = [
  ['linear', 'dm_mod'],
  ['zero', 'dm_mod'],
  ['delay', 'dm_delay'],
  ['snapshot', 'dm_snapshot'],
];

const exists = (p: string) => access(p).then(() => true, () => false);
const installed = (tool: string) => `apt-get install ${PACKAGES[tool] ?? 'util-linux'}`;

export function rootCheck(): Check {
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? ok('root', 'running as root') : fail('root', `running as uid ${uid}, not root: flow attaches devices and mounts filesystems`, 'run flow as root: sudo flow ...');
}

export async function toolChecks(): Promise<Check[]> {
  return Promise.all(
    TOOLS.map(async ([tool, args, okExitCodes]): Promise<Check> => {
      try {
        const r = await runCommand([tool, ...args], { okExitCodes, timeoutMs: 10_000 });
        const raw = `${r.stdout}\n${r.stderr}`.split('\n').find((l) => /\d+\.\d+/.test(l)) ?? '';
        const line = raw.replace(/\s+\(lib.*$/, '').replace(/\s+/g, ' ').trim();
        const version = /(\d+\.\d+(?:\.\d+)*)/.exec(line)?.[1];
        return version ? ok(`tool:${tool}`, line, { version }) : warn(`tool:${tool}`, `installed, but its version could not be read`, `check it: ${[tool, ...args].join(' ')}`);
      } catch (err) {
        const e = err as Error;
        if (err instanceof KernelError && err.code === 'ENOTSUP') return fail(`tool:${tool}`, `${tool} is not installed or not on PATH`, installed(tool));
        return fail(`tool:${tool}`, `${tool} does not run: ${e.message}`, `reinstall it: ${installed(tool)} --reinstall`);
      }
    }),
  );
}

/** Whether modprobe could load this module (a dry run: nothing is loaded). */
async function loadable(module: string): Promise<boolean> {
  return runCommand(['modprobe', '-n', module], { timeoutMs: 10_000 }).then(() => true, () => false);
}

export async function dmChecks(kernel: Kernel, fake: boolean): Promise<Check[]> {
  let targets: { name: string; version: string }[];
  try {
    targets = await kernel.dm.targets();
  } catch (err) {
    const e = err as Error;
    let fix = NO_DM;
    if (err instanceof KernelError && err.code === 'ENOTSUP' && /not installed/.test(e.message)) fix = installed('dmsetup');
    else if (err instanceof KernelError && err.code === 'EPERM') fix = 'run flow doctor as root: sudo flow doctor';
    else if (!fake && (await loadable('dm_mod'))) fix = 'modprobe dm_mod';
    return [fail('dm:driver', `device-mapper is not usable: ${e.message.split('\n')[0]}`, fix), fail('dm:targets', 'not checked: no device-mapper driver', fix)];
  }
  const checks = [ok('dm:driver', `device-mapper driver present (${targets.length} targets loaded)`)];
  for (const [name, module] of TARGETS) {
    const t = targets.find((x) => x.name === name);
    if (t) checks.push(ok(`dm:target:${name}`, `${name} target v${t.version}`, { version: t.version }));
    else if (!fake && (await loadable(module))) checks.push(ok(`dm:target:${name}`, `${name} target not loaded yet; the kernel loads ${module} on first use`));
    else checks.push(fail(`dm:target:${name}`, `the ${name} target is missing`, module === 'dm_mod' ? NO_DM : `modprobe ${module} (or use a kernel with it: run inside scripts/lab)`));
  }
  return checks;
}

export async function zramCheck(): Promise<Check> {
  if (await exists('/sys/class/zram-control')) return ok('zram', 'zram module loaded (/sys/class/zram-control)');
  if (await loadable('zram')) return ok('zram', 'zram module available; flow loads it on first use');
  return fail('zram', 'no zram: /sys/class/zram-control is missing and modprobe cannot find the zram module (snapshot-image needs it)', 'install the kernel modules for this kernel (apt-get install linux-image-$(uname -r)) or use a kernel with CONFIG_ZRAM; or run inside scripts/lab');
}

export async function udevCheck(): Promise<Check> {
  if (await exists('/run/udev/control')) return ok('udev', 'udev is running (/run/udev/control)');
  return warn('udev', 'no running udev (/run/udev/control is missing): dmsetup creates /dev/mapper nodes itself, but /dev/disk/by-* links are not made', 'start it: systemctl start systemd-udevd (inside a container, run flow on the host or in scripts/lab)');
}
