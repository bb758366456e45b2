import type { BackoffStrategy, DefaultJobOptions } from 'bullmq';

/** Backoff type of command jobs; the command worker registers `commandBackoff` for it. */
export const COMMAND_BACKOFF_TYPE = 'command-backoff';

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 60_000;

/**
 * Exponential from 0.5 s, capped at 60 s, with up to 50 % jitter taken off. Together with 40
 * attempts a command rides out about half an hour of database or Redis outage before it is
 * given up (a plain exponential over so many attempts would wait hours between the last ones).
 */
export const commandBackoff: BackoffStrategy = (attemptsMade) => {
  const base = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(base * (1 - Math.random() * 0.5));
};

/**
 * Defaults for command jobs. Domain failures are marked unrecoverable by the worker and never
 * retried; these attempts are for infrastructure errors (lost connection, lock conflict).
 * Completed jobs are kept for a day so Bull Board and the status route can show them; the
 * durable outcome lives in PostgreSQL (processed_commands), so retention is only for people.
 */
export const commandJobOptions: DefaultJobOptions = {
  attempts: 40,
  backoff: { type: COMMAND_BACKOFF_TYPE },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
};

/** Emails and webhook deliveries: one job per row; the row, not the job, is the truth. */
export const deliveryJobOptions: DefaultJobOptions = {
  attempts: 1,
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
};
