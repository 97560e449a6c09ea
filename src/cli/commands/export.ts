/** `flow export <id> --to FILE`: a new complete disk image from a done run (src/export/export.ts). */
import type { Command } from 'commander';
import { openApp } from '../../app.js';
import { exportRun } from '../../export/export.js';
import { testSeam } from '../../test-seam.js';
import { installCommandLog } from '../log.js';
import { globalOpts, type SetCode } from './common.js';

const HELP = `
From a done run of snapshot-image or pi-image: every partition's current content (the
snapshots' for the partitions the run snapshotted, the original image's bytes elsewhere),
the grown partition enlarged in the partition table to its snapshot's size, the disk
identifier and partition UUIDs unchanged (cmdline.txt and fstab still match), holes where
the data is zeros. The mounted snapshots are flushed first (syncfs); a mounted ext4 is
frozen for the copy (fsfreeze: writes into it wait) and thawed after, also by \`flow
recover\` after a crash; write nothing into a mounted FAT while the export runs. Each
snapshot device's page cache is dropped before it is read (blockdev --flushbufs).

Atomic: the image is written to a temporary file beside FILE (.FILE.flow-export-<run>.tmp,
mode 0600, a journaled run of its own), fsynced, then given FILE's name and the directory
fsynced. After a crash or SIGKILL, \`flow recover\` (or the next export) removes the
temporary file; FILE exists only when it is complete. The original image is opened
read-only: it is never written. Refused (exit 2, nothing changed): a run that is not done
or whose devices a reboot took (\`flow resume\` it first), an existing FILE, a missing
directory, FILE being the source image or inside the run's mounts, a grown partition that
would overlap the next.

Examples:
  flow export k3m9x2ab --to /srv/raspios-custom.img
  flow run pi-image --image raspios.img --cow-file /var/tmp/pi.cow   # then change it,
  flow exec k3m9x2ab -- apt-get install -y vim                       # export it,
  flow export k3m9x2ab --to raspios-vim.img && flow rollback k3m9x2ab  # and throw the run away`;

const MiB = 1 << 20;

/** `\r`-redrawn progress on a terminal's stderr only. */
function progressOnTty(): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = -1;
  return (done, total) => {
    const pct = total === 0 ? 100 : Math.floor((done * 100) / total);
    if (pct === last) return;
    last = pct;
    process.stderr.write(`\rexporting: ${String(pct).padStart(3)}% (${Math.round(done / MiB)} of ${Math.round(total / MiB)} MiB)${done >= total ? '\n' : ''}`);
  };
}

export function registerExport(program: Command, setCode: SetCode): void {
  program
    .command('export <id>')
    .description('write a new complete disk image from a done snapshot-image or pi-image run')
    .requiredOption('--to <FILE>', 'the new image (must not exist)')
    .addHelpText('after', HELP)
    .action(async (id: string, o: { to: string }, cmd: Command) => {
      const opts = globalOpts(cmd);
      const stopLog = installCommandLog(opts);
      try {
        const app = await openApp(opts.stateDir);
        const seam = testSeam();
        const r = await exportRun(
          {
            app,
            cwd: process.cwd(),
            progress: progressOnTty(),
            crash: seam?.crash,
            note: (l) => process.stderr.write(`flow: ${l}\n`),
          },
          id,
          o.to,
        );
        const grown = r.grown.map((g) => `partition ${g.number} enlarged from ${g.from} to ${g.to} sectors`).join(', ');
        process.stdout.write(`exported run ${id} to ${r.file}: ${r.size} bytes (${r.written} written, the rest holes)${grown ? `; ${grown}` : ''}\n`);
        setCode(0);
      } finally {
        stopLog();
      }
    });
}
