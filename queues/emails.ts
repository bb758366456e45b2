import type { DefaultJobOptions } from 'bullmq';
import { z } from 'zod';

// The contract of the `emails` queue: the relay and the sweeper add one job per
// email_messages row (job id = the row id); the `mailer` role runs them.

/** Name of the queue the relay fills and the `mailer` role runs. */
export const EMAILS_QUEUE = 'emails';

/** Name of every job on the `emails` queue. */
export const EMAIL_JOB_NAME = 'send';

/** Payload of a job on the `emails` queue: the email_messages row to send (also the job id). */
export const emailJobData = z.object({ emailId: z.uuid() });
export type EmailJobData = z.output<typeof emailJobData>;

const BASE_DELAY_MS = 2_000;

/**
 * Options of every `emails` job, used by the relay and the sweeper alike (with jobId = the row
 * id), and the queue's defaults. A temporary SMTP failure (4xx reply, lost connection, timeout)
 * is retried with exponential backoff and jitter: 2 s, 4 s, ... 256 s before the 8th attempt,
 * each cut by up to half at random so that a recovering server does not get every message at
 * once. That spans about 4 to 8.5 minutes, long enough for a typical greylisting delay. After
 * the last attempt the row is `failed`. Permanent rejections (5xx) are not retried at all.
 * How long finished jobs stay in Redis is the queue's default (queues/retention.ts). With
 * RELAY_FIRST_ATTEMPT the relay makes the first attempt and a retry's job has these eight after
 * it (docs/adr/0024-relay-first-attempt.md).
 */
export const emailJobOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: BASE_DELAY_MS, jitter: 0.5 },
} satisfies DefaultJobOptions;

/**
 * The longest wait BullMQ's exponential backoff can choose after the `attemptsMade`-th failed
 * attempt (jitter only shortens it): what the mailer records as the row's next_attempt_at, the
 * time by which a retry is due.
 */
export function maxRetryDelayMs(attemptsMade: number): number {
  return Math.round(2 ** Math.max(0, attemptsMade - 1) * emailJobOptions.backoff.delay);
}
