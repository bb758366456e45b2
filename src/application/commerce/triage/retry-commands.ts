import type { Clock } from '../../clock.js';
import { RETRYABLE_STATUSES, type CommandFilter, type CommandPosition, type CommandRecords, type CommandRequeue } from './ports.js';

export interface RetryCommandsInput {
  filter: CommandFilter;
  /** Count what a retry would do, and change nothing. */
  dryRun: boolean;
}

export interface RetryCommandsResult {
  /** Listed commands the filter matches (GET /v1/commands with the same filter). */
  matched: number;
  /** Re-queued (or, in a dry run, that would be). */
  retried: number;
  /** The rest: outcomes (a domain failure is final) and commands already on their way again. */
  skipped: number;
  dryRun: boolean;
}

/** Commands that gave up, taken and re-queued per batch. */
const BATCH = 100;

/**
 * Re-queues the commands matching a filter that gave up after their retries on
 * infrastructure errors, under their own command id, so exactly-once still holds: a job that
 * ran meanwhile, or a second retry, finds the command's outcome and does not apply it again.
 * - only commands that gave up (`gave_up`, or `retrying` whose job Redis lost) are re-queued;
 *   a recorded outcome is never run again: a domain failure (`failed`) is final, and is skipped
 *   like a success;
 * - a command whose job is already waiting or running again is skipped, not queued twice;
 * - each re-queued command is marked retried (`retrying` until it has an outcome), after its
 *   job is back: should the mark fail, a later retry finds the job in flight and skips it;
 * - retrying one command is a filter on its id;
 * - a dry run reads the same and re-queues nothing.
 * The count and the walk are separate reads: commands that change state between them can make
 * the figures differ by as many.
 */
export class RetryCommands {
  constructor(
    private readonly records: CommandRecords,
    private readonly requeue: CommandRequeue,
    private readonly clock: Clock,
  ) {}

  async execute(input: RetryCommandsInput): Promise<RetryCommandsResult> {
    const { filter, dryRun } = input;
    const counted = await this.records.count(filter);
    let retried = 0;
    if (filter.status === undefined || RETRYABLE_STATUSES.includes(filter.status)) {
      let after: CommandPosition | null = null;
      for (;;) {
        const batch = await this.records.gaveUp(filter, after, BATCH);
        const done = await Promise.all(
          batch.map((command) => (dryRun ? this.requeue.canRequeue(command) : this.requeue.requeue(command))),
        );
        const requeued = batch.filter((_, i) => done[i]).map((command) => command.commandId);
        if (!dryRun && requeued.length > 0) await this.records.markRetried(requeued, this.clock.now());
        retried += requeued.length;
        const last = batch.at(-1);
        if (batch.length < BATCH || !last) break;
        after = last;
      }
    }
    const matched = Math.max(counted, retried);
    return { matched, retried, skipped: matched - retried, dryRun };
  }
}
