/**
 * What a done run of snapshot-image or pi-image holds for an export, from its journal
 * (the steps' recorded arguments and outputs: the same in every journal format): the
 * image and its identity, each snapshotted partition with its snapshot device, and the
 * mountpoints to flush first.
 */
import type { RunState, StepState } from '../engine/state.js';
import type { FileIdentity } from '../kernel/files.js';

export interface RunSource {
  image: string;
  identity: FileIdentity;
  /** partition number (null: the whole image) and the snapshot device */
  snapshots: { number: number | null; device: string }[];
  /** where the snapshots are mounted (flushed before the copy) */
  mountpoints: string[];
}

/** Per workflow: the step reading each snapshotted partition, the one creating its snapshot, the one mounting it. */
const LAYOUTS: Record<string, readonly { read: string; snapshot: string; mount: string }[]> = {
  'snapshot-image': [{ read: 'read-partition-table', snapshot: 'create-snapshot', mount: 'mount' }],
  'pi-image': [
    { read: 'read-root-partition', snapshot: 'create-root-snapshot', mount: 'mount-root' },
    { read: 'read-boot-partition', snapshot: 'create-boot-snapshot', mount: 'mount-boot' },
  ],
};

export const EXPORTABLE = Object.keys(LAYOUTS);

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {});

/** The run's source, or a reason it has none (an unknown workflow, a step missing from the journal). */
export function runSource(st: RunState): RunSource | string {
  const layout = LAYOUTS[st.workflow];
  if (!layout) return `run ${st.id} is a run of ${st.workflow}: flow export writes an image from a run of ${EXPORTABLE.join(' or ')}`;
  const step = (name: string): StepState | undefined => st.steps.find((s) => s.name === name);
  const attach = obj(step('attach-image')?.args);
  const identity = obj(attach.identity);
  if (typeof attach.file !== 'string' || typeof identity.dev !== 'string' || typeof identity.ino !== 'number') return `run ${st.id}'s journal names no image (its attach-image step has no file)`;
  const out: RunSource = { image: attach.file, identity: { dev: identity.dev, ino: identity.ino, ...(typeof identity.birth === 'string' ? { birth: identity.birth } : {}) }, snapshots: [], mountpoints: [] };
  for (const l of layout) {
    const read = obj(step(l.read)?.args);
    const snap = obj(step(l.snapshot)?.outputs);
    if (typeof snap.device !== 'string' || !(typeof read.partition === 'number' || read.partition === null)) return `run ${st.id}'s journal has no ${l.snapshot} device or ${l.read} partition`;
    out.snapshots.push({ number: read.partition as number | null, device: snap.device });
    const m = step(l.mount);
    const target = obj(m?.outputs).target;
    if (m?.status === 'applied' && typeof target === 'string') out.mountpoints.push(target);
  }
  return out;
}
