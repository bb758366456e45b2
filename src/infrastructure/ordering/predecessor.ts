import { AsyncLocalStorage } from 'node:async_hooks';

// What the command worker knows about the job whose command is running, handed to the unit of
// work through the async context, the way the trace context is: the use cases in between
// neither know nor care. The predecessor (docs/adr/0006-per-aggregate-ordering.md) gates the
// command; the attempt and the aggregate are written beside its outcome, for triage.

/** The command job being processed, as the unit of work sees it. */
export interface CommandJobContext {
  /** The command that must have an outcome before this one runs, if any. */
  after?: string | undefined;
  /** Which attempt of the job this is (1 for the first). */
  attempt?: number | undefined;
  /** The command's ordering key, `order:<id>`, `user:<id>` or `product:<id>`. */
  aggregate?: string | undefined;
  /** The API key that sent the command (its id and name), recorded beside its outcome. */
  sentBy?: { keyId: string; name: string } | undefined;
}

const jobContext = new AsyncLocalStorage<CommandJobContext>();

/** Runs `work` as the command of a job: its attempt and aggregate (and predecessor, if given). */
export function runCommandJob<T>(job: CommandJobContext, work: () => Promise<T>): Promise<T> {
  return jobContext.run({ ...jobContext.getStore(), ...job }, work);
}

/** Runs `work` for a command that may run only once `after` has an outcome. */
export function runAfter<T>(after: string | undefined, work: () => Promise<T>): Promise<T> {
  return after === undefined ? work() : runCommandJob({ after }, work);
}

/** The command job being processed, if any. */
export function currentCommandJob(): CommandJobContext | undefined {
  return jobContext.getStore();
}

/** The command that must have an outcome before the current one runs, if any. */
export function currentPredecessor(): string | undefined {
  return jobContext.getStore()?.after;
}

/**
 * Thrown by the unit of work, before the command has changed anything, when its predecessor
 * has no outcome yet. Not a domain error and not a failure: the command runs later.
 */
export class PredecessorPendingError extends Error {
  constructor(readonly predecessor: string) {
    super(`waiting for command ${predecessor}, accepted before it on the same aggregate`);
    this.name = 'PredecessorPendingError';
  }
}
