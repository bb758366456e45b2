/**
 * How a bench run ends when it does not end normally. A run holds system processes, its
 * databases and Redis keys of its prefix; whichever way it stops — at its end, interrupted
 * (SIGINT, SIGTERM) or crashed (an uncaught exception, or a rejection nobody handled, which Node
 * raises as one) — its clean-up runs once, and an interrupted or crashed run exits 130 or 1 once
 * the clean-up has finished. Without this a crash left the run's processes running and its
 * databases and keys behind.
 */
export interface Shutdown {
  /** True once a signal or a crash ended the run: it exits when the clean-up is done, and writes no report. */
  readonly stopping: boolean;
  /**
   * Runs the clean-up, or joins it when it has started already: the run's own `finally`, a
   * signal and a crash share one clean-up (a phase that rejects runs the `finally`, then reaches
   * Node as an uncaught rejection).
   */
  cleanUp(): Promise<void>;
}

export function cleanUpOnAbnormalExit(cleanUp: () => Promise<void>, log: (message: string) => void): Shutdown {
  let cleaning: Promise<void> | undefined;
  const state = {
    stopping: false,
    cleanUp: () =>
      (cleaning ??= cleanUp().catch((error: unknown) => log(`clean-up failed: ${error instanceof Error ? error.message : String(error)}`))),
  };
  const stop = (code: number, why: string) => {
    if (state.stopping) return;
    state.stopping = true;
    log(cleaning ? `${why}: exiting once the clean-up has finished` : `${why}: stopping processes and dropping the bench databases`);
    void state.cleanUp().finally(() => process.exit(code));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop(130, signal));
  process.on('uncaughtException', (error) => {
    // Printed whole: the run's result is lost, so this is the report.
    process.stderr.write(`bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    stop(1, 'crash');
  });
  return state;
}
