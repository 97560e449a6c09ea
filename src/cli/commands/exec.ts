/** `flow exec <id> [--] COMMAND...`: a command inside a done run's mounted root (src/exec/exec.ts). */
import type { Command } from 'commander';
import { openApp } from '../../app.js';
import { chrootRunner } from '../../exec/command.js';
import { execInRun } from '../../exec/exec.js';
import { testSeam } from '../../test-seam.js';
import { installCommandLog } from '../log.js';
import { globalOpts, type SetCode } from './common.js';

const HELP = `
The command runs in a chroot of the run's mountpoint (its root filesystem), with the host's
/dev, /dev/pts, /proc and /sys bound there and the host's /etc/resolv.conf bound read-only
onto the image's (when that is a regular file). The binds are a journaled run of their own,
rolled back when the command ends: after a crash or SIGKILL, \`flow recover\` removes them.
flow's exit code is the command's (128+N when signal N killed it); flow's own refusals
exit 2 (nothing changed), 4 (another flow process holds the run).

An image of another architecture (arm64, armhf on x86-64) needs an emulator registered
with binfmt_misc's F flag: apt-get install qemu-user-static binfmt-support.

Put -- before the command when it has options of its own.

Examples:
  flow exec k3m9x2ab -- /bin/sh -c 'uname -m'
  flow exec k3m9x2ab -- apt-get install -y vim
  flow exec k3m9x2ab -- /bin/bash          an interactive shell inside the image`;

export function registerExec(program: Command, setCode: SetCode): void {
  program
    .command('exec <id> <cmd...>') // not <command...>: completion would offer flow's own commands (completion/spec.ts)
    .description("run a command inside a done run's mounted root (chroot with /dev, /proc, /sys bound)")
    .allowUnknownOption()
    .addHelpText('after', HELP)
    .action(async (id: string, argv: string[], _o: unknown, cmd: Command) => {
      const opts = globalOpts(cmd);
      const stopLog = installCommandLog(opts);
      try {
        const app = await openApp(opts.stateDir);
        const seam = testSeam();
        setCode(await execInRun({ app, run: seam?.execRunner ?? chrootRunner, binfmtDir: seam?.binfmtDir, cwd: process.cwd(), note: (l) => process.stderr.write(`flow: ${l}\n`) }, id, argv));
      } finally {
        stopLog();
      }
    });
}
