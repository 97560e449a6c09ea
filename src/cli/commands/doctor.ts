/**
 * `flow doctor [--json]`: is this host ready for flow? Each check is ok, warn (flow copes,
 * but something wants a look) or fail (flow cannot work), each warn and fail with its fix.
 * Exit 0 when no check failed, 1 otherwise. Changes nothing.
 */
import { Command } from 'commander';
import { openKernel } from '../../app.js';
import { installCommandLog } from '../log.js';
import { dmChecks, rootCheck, toolChecks, udevCheck, zramCheck } from '../ops/doctor-host.js';
import { runChecks, stateDirCheck, tempFileCheck } from '../ops/doctor-state.js';
import type { Check } from '../ops/doctor-types.js';
import { globalOpts as global, type GlobalOpts, type SetCode } from './common.js';

const HELP = `
Checks: root; each tool flow runs and its version (losetup, dmsetup, sfdisk, blockdev,
blkid, mkfs.ext4, resize2fs, findmnt, mount, umount, flock); the device-mapper driver and
the targets flow needs (linear, zero, delay, snapshot); zram; a running udev; the state
directory (owner, mode); temp files and lock files left behind; unfinished runs that no
flow process holds; corrupt journals.

Exit code: 0 when no check failed (warnings do not change it), 1 when one did.
--json prints {"ok", "checks": [{"check", "status": "ok"|"warn"|"fail", "detail", "fix"?, "version"?}]}

Examples:
  flow doctor
  flow doctor --json | jq '.checks[] | select(.status != "ok")'
  flow --state-dir /srv/flow doctor`;

export async function doctor(opts: GlobalOpts): Promise<Check[]> {
  const { kernel, test } = await openKernel();
  const [tools, dm, zram, udev] = await Promise.all([toolChecks(), dmChecks(kernel, test), zramCheck(), udevCheck()]);
  const state = await stateDirCheck(opts.stateDir);
  const runs = state.usable ? await runChecks(opts.stateDir) : [];
  return [rootCheck(), ...tools, ...dm, zram, udev, state.check, await tempFileCheck(opts.stateDir), ...runs];
}

function print(checks: Check[]): void {
  const w = (s: string) => process.stdout.write(s + '\n');
  const label = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;
  for (const c of checks) {
    w(`${label[c.status]}  ${c.check.padEnd(20)} ${c.detail}`);
    if (c.fix) w(`${' '.repeat(26)} fix: ${c.fix}`);
  }
  const failed = checks.filter((c) => c.status === 'fail').length;
  const warned = checks.filter((c) => c.status === 'warn').length;
  const counts = `${failed} failed, ${warned} warning${warned === 1 ? '' : 's'}, ${checks.length - failed - warned} ok`;
  w(failed ? `\n${counts}: flow cannot work here until the failed checks are fixed` : `\n${counts}: flow can work here`);
}

export function registerDoctor(program: Command, setCode: SetCode): void {
  program
    .command('doctor')
    .description('check that this host can run flow (tools, device-mapper, zram, udev, state directory); each problem with its fix')
    .option('--json', 'print one JSON object')
    .addHelpText('after', HELP)
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const opts = global(cmd);
      const stopLog = installCommandLog(opts);
      let checks: Check[];
      try {
        checks = await doctor(opts);
      } finally {
        stopLog();
      }
      const okay = !checks.some((c) => c.status === 'fail');
      if (o.json) process.stdout.write(JSON.stringify({ ok: okay, checks }) + '\n');
      else print(checks);
      setCode(okay ? 0 : 1);
    });
}
