/**
 * The operator the crash matrices play when flow stops (exit 3) because it cannot tell a
 * loop or zram device of its own from another program's (see src/steps/kinds/loop-attach.ts and
 * zram-add.ts): it reads the exact commands flow listed for that step ("losetup -d
 * /dev/loopN   # only if /dev/loopN (diskseq S) is this run's", "echo 1 >
 * /sys/block/zramN/reset ..."), runs those for the devices it knows are the run's (never
 * one `isForeign` names), records `flow resolve --as absent`, and recovers again.
 */
import { NeedsOperatorError } from '../errors.js';
import type { SimWorld as World } from './world.js';

/** the id of every run the matrices make */
export const ID = 'k3m9x2ab';

/** A device named in an operator's command list. */
export interface Candidate {
  kind: 'loop' | 'zram';
  /** /dev/loopN or /dev/zramN */
  device: string;
  diskseq: number;
}

/** What the operator did at one stop. */
export interface OperatorStop {
  step: string;
  kind: string;
  candidates: Candidate[];
  removed: Candidate[];
}

const TAGGED = /# only if (\/dev\/(loop|zram)\d+) \(diskseq (\d+)\) is this run's$/;

/** The devices the stop's commands name, each once. */
export function candidatesOf(err: NeedsOperatorError): Candidate[] {
  const out = new Map<string, Candidate>();
  for (const c of err.commands) {
    const m = TAGGED.exec(c);
    if (m) out.set(`${m[1]}@${m[3]}`, { kind: m[2] as 'loop' | 'zram', device: m[1]!, diskseq: Number(m[3]) });
  }
  return [...out.values()];
}

/** Runs `recover` and plays the operator at every device stop; other errors propagate. */
export async function recoverWithOperator<T>(
  w: World,
  recover: () => Promise<T>,
  isForeign: (c: Candidate) => boolean,
  stops: OperatorStop[],
): Promise<T> {
  for (let round = 0; ; round++) {
    try {
      return await recover();
    } catch (err) {
      if (!(err instanceof NeedsOperatorError) || round >= 3) throw err;
      // only a device stop is the operator's to settle here; any other stop is a finding
      const candidates = candidatesOf(err);
      if (candidates.length === 0) throw err;
      const kind = candidates[0]!.kind === 'loop' ? 'loop.attach' : 'zram.add';
      const removed: Candidate[] = [];
      for (const c of candidates) {
        if (isForeign(c)) continue;
        await undoByHand(w, c);
        removed.push(c);
      }
      stops.push({ step: err.step, kind, candidates, removed });
      await (await w.runner()).resolve(ID, err.step, 'absent', 'verify-operator');
    }
  }
}

/** What the operator's listed commands do, through the kernel interface; only that exact device. */
async function undoByHand(w: World, c: Candidate): Promise<void> {
  if (c.kind === 'loop') {
    const l = (await w.kernel.loop.list()).find((x) => x.device === c.device && x.diskseq === c.diskseq);
    if (l) await w.kernel.loop.detach(l.device);
    return;
  }
  const id = Number(c.device.slice('/dev/zram'.length));
  const z = (await w.kernel.zram.list()).find((x) => x.id === id && x.diskseq === c.diskseq);
  if (!z) return;
  await w.kernel.zram.reset(id);
  await w.kernel.zram.remove(id);
}
