/**
 * What a workflow file may say about each step kind (its `with:` arguments and their types,
 * its outputs, whether its effect is durable): the kinds' specs, one module per kind in
 * src/steps/kinds/, as `flow check` and the resolver read them.
 */
import { KIND_NAMES, KIND_SPECS } from '../steps/kinds/index.js';
import type { ArgSpec, KindSpec } from '../steps/kinds/spec.js';

export type { ArgSpec };
export type KindInfo = KindSpec;
export const KINDS = KIND_SPECS;
export { KIND_NAMES };

/** The ownership marker of a dm device (as machines/types.ts dmUuid). */
export const dmUuid = (runId: string, step: string) => `FLOW-${runId}-${step}`;
