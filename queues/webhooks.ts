import type { BackoffStrategy, DefaultJobOptions } from 'bullmq';
import { z } from 'zod';

// The contract of the `webhooks` queue: the relay, the sweeper and a replay add one job per
// webhook_deliveries row (job id = the delivery id); the `webhooks` role runs them.

/** Name of the queue the relay fills and the `webhooks` role runs. */
export const WEBHOOKS_QUEUE = 'webhooks';

/** Name of every job on the `webhooks` queue. */
export const WEBHOOK_JOB_NAME = 'deliver';

/**
 * Payload of a job on the `webhooks` queue. `attemptsBefore`: attempts already made by an
 * earlier job of the same delivery, set by the sweeper when it restores a job Redis lost, so
 * the retry schedule goes on where it was. `waitedForRate`: set by the webhooks worker when the
 * job first waits for a slot of its endpoint's delivery rate, so it does not queue behind
 * the others again (docs/adr/0013-webhook-delivery-rate.md).
 */
export const webhookJobData = z.object({
  deliveryId: z.uuid(),
  attemptsBefore: z.int().min(0).optional(),
  waitedForRate: z.boolean().optional(),
});
export type WebhookJobData = z.output<typeof webhookJobData>;

/** The custom backoff type of webhook jobs; the webhooks worker registers its strategy. */
export const WEBHOOK_BACKOFF_TYPE = 'webhook-schedule';

/**
 * Options for every job on the `webhooks` queue (the relay, the sweeper and a replay add them
 * so): one first attempt plus one retry per entry of the schedule (WEBHOOK_RETRY_SCHEDULE,
 * seconds), spaced by `webhookBackoffStrategy`. The delivery row, not the job, is the truth, so
 * how long finished jobs stay in Redis (the queue's default, queues/retention.ts) is only for
 * people looking at Bull Board.
 */
export function webhookJobOptions(schedule: readonly number[]): DefaultJobOptions {
  return {
    attempts: schedule.length + 1,
    backoff: { type: WEBHOOK_BACKOFF_TYPE },
  };
}

/**
 * The queue's default job options, for a job added without `webhookJobOptions` (none is, by
 * the code in this repository): one attempt.
 */
export const webhookQueueDefaults: DefaultJobOptions = {
  attempts: 1,
};

/**
 * Thrown by the webhook processor when an attempt failed and another is due: it carries the
 * delay it already wrote to `webhook_deliveries.next_attempt_at`, so the queue and the row agree.
 */
export class WebhookRetryError extends Error {
  constructor(
    message: string,
    readonly retryDelayMs: number,
  ) {
    super(message);
    this.name = 'WebhookRetryError';
  }
}

/**
 * The Worker's `settings.backoffStrategy` for the `webhooks` queue. BullMQ calls it with the
 * number of failed attempts so far (1 after the first): the delay is the one the processor
 * chose (WebhookRetryError), otherwise `delayAfter(attemptsMade)` — the retry schedule, which
 * the webhooks capability owns; null there means the schedule is exhausted.
 */
export function webhookBackoffStrategy(delayAfter: (attemptsMade: number) => number | null): BackoffStrategy {
  return (attemptsMade, _type, error) => {
    if (error instanceof WebhookRetryError) return error.retryDelayMs;
    // -1 tells BullMQ not to retry: the schedule has no delay left.
    return delayAfter(attemptsMade) ?? -1;
  };
}
