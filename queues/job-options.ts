import type { DefaultJobOptions } from 'bullmq';

/**
 * Defaults for command jobs. Domain failures are marked unrecoverable by the worker and never
 * retried; these attempts are for infrastructure errors (lost connection, lock conflict).
 * Completed jobs are kept for a day so Bull Board and the status route can show them; the
 * durable outcome lives in PostgreSQL (processed_commands), so retention is only for people.
 */
export const commandJobOptions: DefaultJobOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
};

/** Emails and webhook deliveries: one job per row; the row, not the job, is the truth. */
export const deliveryJobOptions: DefaultJobOptions = {
  attempts: 1,
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
};
