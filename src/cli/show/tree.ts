/**
 * The device stacks of a run, for every workflow (built-in, /etc or a file): drawn from what
 * each step kind's spec says `flow show` draws (generic.ts), with live states.
 */
import type { RunState } from '../../engine/state.js';
import type { Kernel } from '../../kernel/types.js';
import { genericTrees } from './generic.js';
import type { TreeNode } from './model.js';
import { showCtx } from './nodes.js';

/** The run's device trees with live states, roots in step order; [] when no step draws anything. */
export async function buildTrees(kernel: Kernel, run: RunState): Promise<TreeNode[]> {
  return genericTrees(await showCtx(kernel, run));
}
