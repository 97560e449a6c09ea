/** The internal workflow of `flow exec`'s binds (binds-workflow.ts); only flow's own (builtin-sourced) runs of it are exec bind runs. Apart so recover need not load the workflow parser. */
export const EXEC_BINDS = 'exec-binds';
