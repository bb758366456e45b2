import type { DefaultJobOptions } from 'bullmq';
import { z } from 'zod';

// The contract of the `maintenance` queue: a BullMQ job scheduler adds one retention job every
// RETENTION_INTERVAL; the `relay` process type runs them, one at a time
// (docs/adr/0010-retention.md).

/** Name of the queue of housekeeping jobs. */
export const MAINTENANCE_QUEUE = 'maintenance';

/** The job scheduler (upsertJobScheduler) that adds the retention jobs: one per queue prefix. */
export const RETENTION_SCHEDULER_ID = 'retention';

/** Name of the job that deletes the rows older than their retention. */
export const RETENTION_JOB_NAME = 'prune';

/** Payload of a retention job: nothing, the ages are the running process's configuration. */
export const retentionJobData = z.object({});

/**
 * One attempt: a run that failed (database down) is not retried, the next one comes at the
 * next interval and starts from the oldest rows again.
 */
export const maintenanceJobOptions: DefaultJobOptions = { attempts: 1 };
