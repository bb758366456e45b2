import { AsyncLocalStorage } from 'node:async_hooks';

// The predecessor of the command being processed (docs/adr/0006-per-aggregate-ordering.md),
// handed from the command worker to the unit of work through the async context, the way the
// trace context is: the use cases in between neither know nor care.

const predecessor = new AsyncLocalStorage<string>();

/** Runs `work` for a command that may run only once `after` has an outcome. */
export function runAfter<T>(after: string | undefined, work: () => Promise<T>): Promise<T> {
  return after === undefined ? work() : predecessor.run(after, work);
}

/** The command that must have an outcome before the current one runs, if any. */
export function currentPredecessor(): string | undefined {
  return predecessor.getStore();
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
