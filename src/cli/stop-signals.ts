/**
 * SIGINT/SIGTERM during run, resume, rollback or recover: never abort a step; note the
 * signal (the runner stops between steps and records the interruption) and say so once.
 */
export interface StopSignals {
  /** the first signal received, if any */
  readonly received: string | undefined;
  dispose(): void;
}

export function watchStopSignals(what: string): StopSignals {
  let received: string | undefined;
  const on = (name: string) => () => {
    if (!received) process.stderr.write(`flow: ${name} received: ${what}\n`);
    received ??= name;
  };
  const handlers = { SIGINT: on('SIGINT'), SIGTERM: on('SIGTERM') };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  return {
    get received() {
      return received;
    },
    dispose() {
      process.off('SIGINT', handlers.SIGINT);
      process.off('SIGTERM', handlers.SIGTERM);
    },
  };
}
