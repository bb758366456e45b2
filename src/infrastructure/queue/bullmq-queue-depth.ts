import type { JobType, Queue } from 'bullmq';

/**
 * The states of a job that still takes room in Redis until it finishes: what the ceiling on
 * queued commands (MAX_QUEUED_COMMANDS) counts. Delayed includes Run-At commands, commands
 * held back behind an earlier one on their aggregate (ADR 0006) and retries waiting for their
 * backoff; all of them hold memory like a waiting job. (An order's ExpireOrder is added only
 * once it is due: docs/adr/0020-order-expiry-sweep.md.)
 */
export const UNFINISHED_STATES: readonly JobType[] = ['waiting', 'prioritized', 'delayed', 'waiting-children', 'active'];

/** The number of unfinished jobs on the `commands` queue, in one script call (BullMQ's getCounts). */
export class BullMqQueueDepth {
  constructor(private readonly queue: Queue) {}

  async queuedCommands(): Promise<number> {
    return this.queue.getJobCountByTypes(...UNFINISHED_STATES);
  }
}
