/**
 * The journal's record types. A run's journal is a list of these events, oldest first;
 * `seq` numbers them from 0 without gaps, `at` is the ISO time the shell recorded.
 * Events are facts, named in the past tense. The first is always `RunStarted`.
 * Every event read back is validated against `eventSchema`.
 */
import { z } from '../src/zod.js';

/**
 * Version of the on-disk journal format new runs are written in; recorded in RunStarted.
 * 1: one JSON document per run ({format, id, events}), rewritten whole for each event.
 * 2: an append-only log, one JSON line per record (a header {format, id}, then one event
 *    per line), each append made durable by one fdatasync (journal/run-log.ts).
 * Format-1 journals are still read, and continued in format 1.
 */
export const JOURNAL_FORMAT = 2;
export const JOURNAL_FORMATS = [1, 2] as const;
export type JournalFormat = (typeof JOURNAL_FORMATS)[number];

/** The schemas, built on first use (~5 ms of zod at start-up that commands reading no journal never pay). */
function build() {
  const json = z.record(z.string(), z.unknown());
  const errorInfo = z.object({ code: z.string(), message: z.string() });
  const found = z.enum(['applied', 'absent', 'partial']);

  const base = { seq: z.number().int().nonnegative(), at: z.string().min(1) };
  const stepRef = { step: z.string().min(1) };

  const events = z.discriminatedUnion('type', [
    /** The run was recorded: everything needed to rebuild its steps. */
    z.object({
      ...base,
      type: z.literal('RunStarted'),
      format: z.union([z.literal(1), z.literal(2)]),
      flowVersion: z.string(),
      workflow: z.string(),
      workflowVersion: z.number().int(),
      params: json,
      steps: z.array(z.string()),
      bootId: z.string(),
      keepOnFailure: z.boolean(),
      key: z.string().optional(),
      /**
       * The workflow the run executes, as data (src/workflow/source.ts): its canonical definition,
       * that data's sha256, where it was read from, and what instantiates it (the params and the
       * run facts its expressions read). Steps are rebuilt from this alone, so a run outlives an
       * edit or deletion of its file and an upgrade of a built-in. Absent in format-1 journals
       * (those resolve through the frozen built-in of `workflow` + `workflowVersion`).
       */
      definition: z
        .object({
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
          source: z.object({ kind: z.enum(['builtin', 'etc', 'file']), path: z.string().optional() }),
          workflow: z.unknown(),
          params: json,
          run: z.object({ dir: z.string(), uuid: z.string() }),
        })
        .optional(),
    }),
    /** A step's exact arguments and ownership marker, durable before its command runs. */
    z.object({ ...base, ...stepRef, type: z.literal('StepIntended'), args: json, marker: json, bootId: z.string() }),
    z.object({ ...base, ...stepRef, type: z.literal('StepSucceeded'), outputs: json }),
    z.object({ ...base, ...stepRef, type: z.literal('StepFailed'), error: errorInfo }),
    /** What the probe found for a step in doubt. */
    z.object({ ...base, ...stepRef, type: z.literal('StepProbed'), found, outputs: json.optional(), detail: z.string().optional() }),
    /** A partial effect was removed; the step is absent now. */
    z.object({ ...base, ...stepRef, type: z.literal('StepCleaned') }),
    z.object({ ...base, ...stepRef, type: z.literal('UndoIntended'), bootId: z.string() }),
    z.object({ ...base, ...stepRef, type: z.literal('UndoSucceeded') }),
    z.object({ ...base, ...stepRef, type: z.literal('UndoFailed'), error: errorInfo }),
    /** A step with nothing to undo (read-only, forward-only, or undone with its file). */
    z.object({ ...base, ...stepRef, type: z.literal('UndoSkipped'), reason: z.string() }),
    z.object({ ...base, type: z.literal('RollbackStarted'), reason: z.enum(['requested', 'step-failed', 'recover']) }),
    z.object({ ...base, type: z.literal('RollbackFinished') }),
    z.object({ ...base, type: z.literal('ResumeStarted') }),
    z.object({ ...base, type: z.literal('RunFinished') }),
    z.object({ ...base, type: z.literal('RunInterrupted'), signal: z.string() }),
    /** The host rebooted since the last event: volatile effects are gone. */
    z.object({ ...base, type: z.literal('BootChanged'), from: z.string(), to: z.string() }),
    z.object({ ...base, ...stepRef, type: z.literal('NeedsOperator'), reason: z.string(), commands: z.array(z.string()) }),
    /** A person settled a step flow could not: it is there (`applied`) or gone (`absent`). */
    z.object({ ...base, ...stepRef, type: z.literal('OperatorResolved'), as: z.enum(['applied', 'absent']), by: z.string() }),
  ]);
  /** The whole per-run document: as stored on disk in format 1, as read back from a log in format 2. */
  const document = z.object({
    /** journal format version (equals RunStarted's `format`) */
    format: z.union([z.literal(1), z.literal(2)]),
    /** the run id (equals the file name without .json) */
    id: z.string(),
    events: z.array(events).min(1),
  });
  return { events, document };
}

let built: ReturnType<typeof build> | undefined;
/** The schema of one journal event. */
export const eventSchema = () => (built ??= build()).events;
/** The schema of a whole run document (format 1 on disk; format 2 as read back). */
export const runDocumentSchema = () => (built ??= build()).document;

export type FlowEvent = z.infer<ReturnType<typeof eventSchema>>;
export type EventType = FlowEvent['type'];
/** An event before the journal numbers and stamps it. */
export type EventBody = FlowEvent extends infer E ? (E extends FlowEvent ? Omit<E, 'seq' | 'at'> : never) : never;
export type EventOf<T extends EventType> = Extract<FlowEvent, { type: T }>;

export type RunDocument = z.infer<ReturnType<typeof runDocumentSchema>>;
