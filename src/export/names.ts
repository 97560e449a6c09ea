/** The internal workflow of `flow export`'s temporary file (temp-workflow.ts); only flow's own (builtin-sourced) runs of it are export runs. Apart so recover need not load the workflow parser. */
export const EXPORT_TEMP = 'export-temp';

/** What recover and the next export settle: an export run not yet rolled back (its flow was killed; its temporary file may remain). */
export const leftoverExport = (r: { workflow: string; status: string; state: { definition?: { source: { kind: string } } } }): boolean =>
  r.workflow === EXPORT_TEMP && r.state.definition?.source.kind === 'builtin' && r.status !== 'rolled-back';

/** The temporary image beside FILE: hidden, and named so a person (and `flow doctor`) can tell it is flow's. */
export const tempNameOf = (base: string, runId: string): string => `.${base}.flow-export-${runId}.tmp`;
