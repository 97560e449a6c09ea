/** The device stack of a run, per workflow: image/file → loop → dm devices → mount point. */
import { findWorkflow } from '../../../machines/index.js';
import type { DelayedDeviceParams } from '../../../machines/delayed-device.js';
import type { LoopMountParams } from '../../../machines/loop-mount.js';
import type { SnapshotImageParams } from '../../../machines/snapshot-image.js';
import type { RunState } from '../../engine/state.js';
import type { Kernel } from '../../kernel/types.js';
import { genericTrees } from './generic.js';
import type { TreeNode } from './model.js';
import { cowNode, createdFileNode, dmNode, inputFileNode, loopNode, mountNode, showCtx, type ShowCtx } from './nodes.js';

/** Links each node to the next: chain(a, b, c) makes b a child of a and c a child of b. */
function chain(...nodes: (TreeNode | undefined)[]): TreeNode {
  const present = nodes.filter((n): n is TreeNode => n !== undefined);
  for (let i = 1; i < present.length; i++) present[i - 1]!.children.push(present[i]!);
  return present[0]!;
}

const mount = (c: ShowCtx, mp: string | null) => (mp === null ? undefined : mountNode(c, mp, 'mount', 'make-mountpoint'));

async function snapshotImage(c: ShowCtx, p: SnapshotImageParams): Promise<TreeNode> {
  const snapshot = await dmNode(c, 'snapshot', 'create-snapshot', p.name);
  // --cow-file: the COW is the loop device over the file
  snapshot.cow = p.cowFile ? await loopNode(c, 'attach-cow') : await cowNode(c, 'add-cow');
  return chain(
    await inputFileNode(c, 'image', p.image, p.imageIdentity),
    await loopNode(c, 'attach-image'),
    await dmNode(c, 'base', 'create-base', `${p.name}-base`),
    snapshot,
    await mount(c, p.mountpoint),
  );
}

async function delayedDevice(c: ShowCtx, p: DelayedDeviceParams): Promise<TreeNode> {
  return chain(
    p.createFile ? await createdFileNode(c, p.file, 'create-file') : await inputFileNode(c, 'file', p.file, p.fileIdentity),
    await loopNode(c, 'attach-file'),
    await dmNode(c, 'delay', 'create-delay', p.name),
    await mount(c, p.mountpoint),
  );
}

async function loopMount(c: ShowCtx, p: LoopMountParams): Promise<TreeNode> {
  return chain(await inputFileNode(c, 'file', p.file, p.fileIdentity), await loopNode(c, 'attach-file'), await mount(c, p.mountpoint));
}

/** A built-in's drawing, from its own params; null for a run of any other workflow (or one whose params are not the built-in's). */
async function builtinTree(c: ShowCtx, run: RunState): Promise<TreeNode | null> {
  const wf = findWorkflow(run.workflow);
  if (!wf) return null;
  // a run of a workflow file records the file's params, not the built-in's
  let params;
  try {
    params = wf.parseParams(run.params);
  } catch {
    return null;
  }
  switch (wf.name) {
    case 'snapshot-image':
      return snapshotImage(c, params as SnapshotImageParams);
    case 'delayed-device':
      return delayedDevice(c, params as DelayedDeviceParams);
    case 'loop-mount':
      return loopMount(c, params as LoopMountParams);
    default:
      return null;
  }
}

/** The run's device trees with live states: a built-in's drawing, else one from its steps' kinds (generic.ts); [] when nothing is drawn. */
export async function buildTrees(kernel: Kernel, run: RunState): Promise<TreeNode[]> {
  const c = await showCtx(kernel, run);
  const own = await builtinTree(c, run);
  return own ? [own] : genericTrees(c);
}
