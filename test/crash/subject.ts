/** A test scenario (test/support/scenarios.ts) as the crash matrices of src/verify take it. */
import { findWorkflow } from '../../machines/index.js';
import type { Subject } from '../../src/verify/subject.js';
import { preflightFormat1 } from '../support/format1/index.js';
import { makeForeignObjects, type Scenario } from '../support/scenarios.js';

export function subjectOf(sc: Scenario): Subject {
  return {
    workflow: sc.workflow,
    resolve: async (w, id) => ({ def: findWorkflow(sc.workflow)!, params: await preflightFormat1(w, sc.workflow, sc.options, id) }),
    setup: sc.setup,
    afterBoot: makeForeignObjects,
  };
}
