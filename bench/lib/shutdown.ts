/**
 * How a bench run ends when it does not end normally. A run holds system processes, its
 * databases and Redis keys of its prefix; whichever way it stops — interrupted (SIGINT,
 * SIGTERM) or crashed (an uncaught exception, or a rejection nobody handled, which Node raises
 * as one) — `cleanUp` runs once, and the process exits 130 or 1. Without this a crash left the
 * run's processes running and its databases and keys behind.
 */
export interface Shutdown {
  /** True once a signal or a crash started the clean-up (the run's own `finally` then skips it). */
  readonly stopping: boolean;
}

export function cleanUpOnAbnormalExit(cleanUp: () => Promise<void>, log: (message: string) => void): Shutdown {
  const state = { stopping: false };
  const stop = (code: number, why: string) => {
    if (state.stopping) return;
    state.stopping = true;
    log(`${why}: stopping processes and dropping the bench databases`);
    void cleanUp()
      .catch((error: unknown) => log(`clean-up failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => process.exit(code));
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop(130, signal));
  process.on('uncaughtException', (error) => {
    // Printed whole: the run's result is lost, so this is the report.
    process.stderr.write(`bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    stop(1, 'crash');
  });
  return state;
}
