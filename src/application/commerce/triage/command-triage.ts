import type { ListCommands } from './list-commands.js';
import type { RetryCommands } from './retry-commands.js';

/**
 * The command triage use cases, as the HTTP routes call them; src/main builds the real ones
 * (the listing on the read side, the retry on the primary and the queue).
 */
export interface CommandTriage {
  /** A page of the commands with an outcome or that gave up, newest first. */
  listCommands: Pick<ListCommands, 'execute'>;
  /** Re-queues the matching commands that gave up; counts the rest as skipped. */
  retryCommands: Pick<RetryCommands, 'execute'>;
}
