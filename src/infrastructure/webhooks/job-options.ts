import type { BackoffStrategy, DefaultJobOptions } from 'bullmq';
import { retryDelayMs } from '../../application/webhooks/retry-schedule.js';

/** The custom backoff type of webhook jobs; the webhooks worker registers its strategy. */
export const WEBHOOK_BACKOFF_TYPE = 'webhook-schedule';

/** Job name and payload on the `webhooks` queue; the job id is the delivery id. */
export const WEBHOOK_JOB_NAME = 'deliver';
export interface WebhookJobData {
  deliveryId: string;
}

/**
 * Options for every job on the `webhooks` queue (the relay and a replay add them so): one
 * first attempt plus one retry per entry of the schedule (WEBHOOK_RETRY_SCHEDULE, seconds),
 * spaced by `webhookBackoffStrategy`. The delivery row, not the job, is the truth, so retention
 * is only for people looking at Bull Board.
 */
export function webhookJobOptions(schedule: readonly number[]): DefaultJobOptions {
  return {
    attempts: schedule.length + 1,
    backoff: { type: WEBHOOK_BACKOFF_TYPE },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
  };
}

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
 * chose (WebhookRetryError), otherwise `schedule[attemptsMade - 1]` seconds ± 20 %.
 */
export function webhookBackoffStrategy(schedule: readonly number[], random: () => number = Math.random): BackoffStrategy {
  return (attemptsMade, _type, error) => {
    if (error instanceof WebhookRetryError) return error.retryDelayMs;
    // -1 tells BullMQ not to retry: the schedule has no delay left.
    return retryDelayMs(schedule, attemptsMade, random) ?? -1;
  };
}
