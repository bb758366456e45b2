import type { DefaultJobOptions } from 'bullmq';
import { ORDERING_LINE_TTL_SECONDS, commandRetryBudgetMs } from './commands.js';
import type { QueueName } from './names.js';

// How long BullMQ keeps each queue's finished jobs in Redis, and the rule that ties the
// commands queue's to the retention of processed_commands (docs/adr/0010-retention.md). The
// ages are configured (RETENTION_<QUEUE>_JOBS_COMPLETED / _FAILED); createQueue sets them as
// each queue's default job options, so every job added to a queue gets them, whoever adds it.

/** How long a queue's finished jobs stay in Redis (Bull Board shows them until then). */
export interface JobRetention {
  /** A completed job is removed once it is older than this. */
  completedMs: number;
  /** A job that failed for good is removed once it is older than this. */
  failedMs: number;
}

/**
 * At most this many finished jobs are kept per queue, whatever their age, so a busy queue
 * cannot fill Redis: a completed job may go sooner than its age says, never later.
 */
export const FINISHED_JOBS_KEPT = { completed: 10_000, failed: 50_000 } as const;

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/** The defaults: completed jobs for a day (emails for an hour: there are many), failed for a week. */
export const DEFAULT_JOB_RETENTION: { readonly [Q in QueueName]: JobRetention } = {
  commands: { completedMs: DAY_MS, failedMs: 7 * DAY_MS },
  emails: { completedMs: HOUR_MS, failedMs: 7 * DAY_MS },
  webhooks: { completedMs: DAY_MS, failedMs: 7 * DAY_MS },
  maintenance: { completedMs: DAY_MS, failedMs: 7 * DAY_MS },
};

/** BullMQ's removeOnComplete / removeOnFail for a retention (BullMQ counts ages in seconds). */
export function jobRetentionOptions(retention: JobRetention): Pick<DefaultJobOptions, 'removeOnComplete' | 'removeOnFail'> {
  return {
    removeOnComplete: { age: Math.ceil(retention.completedMs / 1000), count: FINISHED_JOBS_KEPT.completed },
    removeOnFail: { age: Math.ceil(retention.failedMs / 1000), count: FINISHED_JOBS_KEPT.failed },
  };
}

/**
 * How long a command job can stay runnable in Redis after it was taken: its retries
 * (`commandRetryBudgetMs`, about 33 minutes), twice over, for a command parked behind a
 * predecessor that is itself retrying (ADR 0006) — rounded up to the minute.
 */
export function commandJobLifetimeMs(): number {
  return Math.ceil((2 * commandRetryBudgetMs()) / 60_000) * 60_000;
}

/** The shortest processed_commands retention that keeps exactly-once, and why. */
export interface ProcessedCommandRule {
  minimumMs: number;
  /** The term that decides it, for the operator. */
  because: string;
}

/**
 * Exactly-once rests on processed_commands: a job of a command that finds the command's row
 * returns the stored outcome instead of running it again. So a row must outlive every way a
 * job of its command can still run:
 *  - a failed job (it gave up, or failed for good) stays in Redis for the commands queue's
 *    failed retention, and can be retried from there (Bull Board, a bulk retry);
 *  - a completed job stays for its completed retention, and can be retried too;
 *  - a successor accepted within the ordering line's TTL (24 h) checks its predecessor's row
 *    (ADR 0006), and a retried intake (Idempotency-Key, 24 h) can add the same command id
 *    again once the first job is gone;
 * and any of those jobs can then take `commandJobLifetimeMs` to run. The minimum is the
 * longest of the three windows plus that lifetime.
 */
export function processedCommandRule(commandJobs: JobRetention): ProcessedCommandRule {
  const lifetimeMs = commandJobLifetimeMs();
  const windows: [number, string][] = [
    [commandJobs.failedMs, 'RETENTION_COMMAND_JOBS_FAILED (a failed command job can be retried from Redis until then)'],
    [commandJobs.completedMs, 'RETENTION_COMMAND_JOBS_COMPLETED (a completed command job can be retried from Redis until then)'],
    [ORDERING_LINE_TTL_SECONDS * 1000, 'the 24 h per-aggregate ordering line (a successor checks its predecessor\'s row)'],
  ];
  const [longestMs, because] = windows.reduce((longest, window) => (window[0] > longest[0] ? window : longest));
  return { minimumMs: longestMs + lifetimeMs, because: `${because}, plus ${lifetimeMs / 60_000} min for the job to run out its retries` };
}
