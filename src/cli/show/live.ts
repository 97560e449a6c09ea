/**
 * A step's live state from its probe (read only), against what the journal says. Never
 * writes: probes only list and read.
 */
import type { Json } from '../../../machines/types.js';
import type { StepState, StepStatus } from '../../engine/state.js';
import type { Kernel } from '../../kernel/types.js';
import { executors } from '../../steps/index.js';
import { KIND_SPECS } from '../../steps/kinds/index.js';
import type { Expected, Live } from './model.js';

export function expectedOf(status: StepStatus): Expected {
  if (status === 'applied' || status === 'undo-failed') return 'present';
  if (status === 'pending' || status === 'undone') return 'absent';
  return 'in-doubt';
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Identity outputs that must not change while a device exists. */
const IDENTITY = ['device', 'majmin', 'id', 'target'];

function changed(journal: Json | undefined, now: Json): string | undefined {
  for (const k of IDENTITY) {
    if (journal?.[k] !== undefined && now[k] !== undefined && journal[k] !== now[k]) return `${k} is ${String(now[k])}, the journal says ${String(journal[k])}`;
  }
  return undefined;
}

export async function stepLive(kernel: Kernel, st: StepState | undefined): Promise<Live> {
  if (!st || !st.args) return { expected: 'absent', state: 'absent' };
  const expected = expectedOf(st.status);
  // a dm device is found by the run's UUID: one left behind is certain; other kinds are
  // found by what they are bound to, which another run may share once this one is gone
  if (expected === 'absent' && !KIND_SPECS[st.def.kind].show?.marked) return { expected, state: 'absent' };
  try {
    const env = { kernel, midpoint: () => undefined };
    const r = await executors[st.def.kind].probe(st.args, st.marker ?? {}, expected === 'present' ? st.outputs : undefined, env);
    if (expected === 'absent') {
      return r.found === 'absent' ? { expected, state: 'absent' } : { expected, state: 'drifted', detail: `a device with the run's UUID exists although the journal says it is gone${r.found === 'partial' ? ` (${r.detail})` : ''}` };
    }
    if (expected === 'in-doubt') {
      const what = r.found === 'applied' ? 'the kernel shows it made' : r.found === 'absent' ? 'the kernel shows nothing' : `${r.found}: ${r.detail}`;
      return { expected, state: 'in-doubt', detail: `${what}; \`flow resume\` or \`flow rollback\` settles it` };
    }
    if (r.found === 'applied') {
      const diff = changed(st.outputs, r.outputs);
      return diff ? { expected, state: 'drifted', detail: diff } : { expected, state: 'present' };
    }
    if (r.found === 'absent') return { expected, state: 'missing', ...(r.detail ? { detail: r.detail } : {}) };
    return { expected, state: 'drifted', detail: r.detail };
  } catch (err) {
    return { expected, state: 'unknown', detail: `cannot probe: ${message(err)}` };
  }
}

/** An input file the run was planned on: still the same inode? */
export async function inputFileLive(kernel: Kernel, path: string, identity: { dev: string; ino: number } | null | undefined): Promise<Live> {
  try {
    const st = await kernel.fs.stat(path);
    if (identity && (st.dev !== identity.dev || st.ino !== identity.ino)) {
      return { expected: 'present', state: 'drifted', detail: `another file now (inode ${st.dev}/${st.ino}; the run was planned on ${identity.dev}/${identity.ino})` };
    }
    return { expected: 'present', state: 'present' };
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return { expected: 'present', state: 'missing', detail: `${path} does not exist` };
    return { expected: 'present', state: 'unknown', detail: `cannot stat: ${message(err)}` };
  }
}
