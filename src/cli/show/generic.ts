/**
 * The device tree of a run of any workflow, from what each kind's spec says `flow show`
 * draws (src/steps/kinds/, `show`): a node per step that makes something, placed below what
 * its arguments name (a loop below its file, a dm device below the devices its table names,
 * a mount point below its device). A snapshot names the rest of its stack: its COW, when
 * that hangs nowhere else, is drawn as its COW; a dm device it is a snapshot of is its
 * `base`; the input file at the bottom of its stack is an `image` (never written to).
 */
import type { Json, Outputs } from '../../../machines/types.js';
import type { StepState } from '../../engine/state.js';
import { KIND_SPECS } from '../../steps/kinds/index.js';
import { plannedOutputs } from '../../steps/kinds/placeholders.js';
import type { TreeNode } from './model.js';
import { cowNode, createdFileNode, dmNode, inputFileNode, loopNode, mountNode, type ShowCtx } from './nodes.js';

/** The values other steps refer to a node by. */
const KEYS = ['majmin', 'device', 'node', 'path'];

const applied = (st: StepState) => st.status === 'applied' || st.status === 'undo-failed';

/** The step's arguments: as recorded, else as its definition gives them from what is known (null when it cannot yet). */
function argsOf(st: StepState, outputs: Outputs): Json | null {
  if (st.args) return st.args;
  try {
    return st.def.planArgs ? st.def.planArgs(outputs) : st.def.args(outputs);
  } catch {
    return null; // e.g. a dm table that names a device not made yet
  }
}

/** A dm device's role: its table's one target, or `dm`. */
function dmRole(args: Json | null): string {
  const targets = new Set((Array.isArray(args?.table) ? args.table : []).map((l) => String(l).trim().split(/\s+/)[2]));
  return targets.size === 1 ? [...targets][0]! : 'dm';
}

function isIdentity(v: unknown): v is { dev: string; ino: number } {
  return typeof v === 'object' && v !== null && typeof (v as { dev?: unknown }).dev === 'string' && typeof (v as { ino?: unknown }).ino === 'number';
}

/** The run's device forest, roots in step order; empty when no step draws anything. */
export async function genericTrees(c: ShowCtx): Promise<TreeNode[]> {
  const outputs: Record<string, Json | undefined> = {};
  const byValue = new Map<string, TreeNode>();
  const roots: TreeNode[] = [];
  const parent = new Map<TreeNode, TreeNode>();
  const dms = new Set<TreeNode>();
  const dirsFor = (target: string) => c.run.steps.find((s) => s.def.kind === 'dir.make' && Array.isArray(s.args?.dirs ?? null) && (s.args!.dirs as string[]).at(-1) === target)?.name ?? '';
  const place = (n: TreeNode, below: TreeNode | undefined) => {
    if (below) {
      below.children.push(n);
      parent.set(n, below);
    } else roots.push(n);
  };
  for (const st of c.run.steps) {
    const spec = KIND_SPECS[st.def.kind];
    const args = argsOf(st, outputs);
    const outs = applied(st) && st.outputs ? st.outputs : plannedOutputs(st.def, args ?? {});
    outputs[st.name] = outs;
    const show = spec.show;
    if (!show) continue;
    const from = args ? show.from(args) : [];
    const str = (k: string) => (typeof args?.[k] === 'string' ? (args[k] as string) : undefined);
    let n: TreeNode;
    let below = from.map((v) => byValue.get(v)).find((x) => x !== undefined);
    switch (show.node) {
      case 'file':
        n = await createdFileNode(c, str('path') ?? st.name, st.name);
        break;
      case 'loop': {
        n = await loopNode(c, st.name);
        const file = str('file');
        if (!below && file) {
          // a file no step of the run made: an input, checked against the identity it was planned on
          below = await inputFileNode(c, 'file', file, isIdentity(args?.identity) ? args.identity : null);
          byValue.set(file, below);
          roots.push(below);
        }
        break;
      }
      case 'dm': {
        const role = dmRole(args);
        n = await dmNode(c, role, st.name, str('name') ?? st.name);
        dms.add(n);
        // a snapshot's COW (its second device) that hangs nowhere else is drawn as its COW
        const cow = role === 'snapshot' ? byValue.get(from[1] ?? '') : undefined;
        if (cow && roots.includes(cow) && cow.children.length === 0) {
          roots.splice(roots.indexOf(cow), 1);
          n.cow = { ...cow, role: 'cow' };
        }
        if (role === 'snapshot') {
          const origin = byValue.get(from[0] ?? '');
          if (origin && dms.has(origin) && origin.role !== 'snapshot') origin.role = 'base';
          let bottom = below;
          while (bottom && parent.has(bottom)) bottom = parent.get(bottom);
          if (bottom && !bottom.step && bottom.role === 'file') bottom.role = 'image';
        }
        break;
      }
      case 'zram':
        n = { ...(await cowNode(c, st.name)), role: 'zram' };
        break;
      case 'mountpoint':
        n = await mountNode(c, str('target') ?? st.name, st.name, dirsFor(str('target') ?? ''));
        break;
    }
    place(n, below);
    // the values it is referred to by: as recorded (also once undone: a later step's recorded args name them), else placeholders
    for (const o of [outs, st.outputs ?? {}]) for (const k of KEYS) if (typeof o[k] === 'string') byValue.set(o[k] as string, n);
  }
  return roots;
}
