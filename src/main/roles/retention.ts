import { systemClock, type Clock } from '../../application/clock.js';
import { RETAINED_TABLES } from '../../application/retention/ports.js';
import { PruneExpiredRecords, type RetentionAges } from '../../application/retention/prune-expired-records.js';
import type { RetentionConfig } from '../../infrastructure/config.js';
import { PgRetentionStore } from '../../infrastructure/retention/pg-retention-store.js';
import { RETENTION_JOB_NAME, RETENTION_SCHEDULER_ID, maintenanceJobOptions } from '../../../queues/maintenance.js';
import { QUEUES } from '../../../queues/names.js';
import { createRetentionProcessor } from '../../../workers/retention-processor.js';
import type { Infrastructure } from '../infrastructure.js';
import { startQueueWorker, type QueueWorkerDeps, type RunningWorker } from './queue-worker.js';

/** Retention runs in the `relay` process type (and `npm start`): a worker of `maintenance` and its scheduler. */
export type RetentionDeps = QueueWorkerDeps &
  Pick<Infrastructure, 'pool'> & { queues: Pick<Infrastructure['queues'], 'maintenance'> };

export interface RetentionOverrides {
  clock?: Clock;
}

/** How long to wait before asking Redis again for the job scheduler, when it could not be set. */
const SCHEDULE_RETRY_MS = 5000;

/** The age of each kind of record, as configured. */
export function retentionAges(retention: RetentionConfig): RetentionAges {
  return {
    emails: retention.emailsMs,
    webhookDeliveries: retention.webhookDeliveriesMs,
    outbox: retention.outboxMs,
    processedCommands: retention.processedCommandsMs,
    gaveUpCommands: retention.gaveUpCommandsMs,
    scheduleRuns: retention.scheduleRunsMs,
  };
}

/**
 * Retention (docs/adr/0010-retention.md): a BullMQ job scheduler adds a `prune` job to the
 * `maintenance` queue every RETENTION_INTERVAL (and at once when it is set), and a worker with
 * concurrency 1 runs it. Every relay process sets the same scheduler (one per queue prefix:
 * upserting it again changes nothing but its interval) and runs such a worker; a PostgreSQL
 * advisory lock keeps a second run from starting while one is still going, whichever process
 * took the job. Stopping ends a run after its current batch.
 */
export function startRetention(infra: RetentionDeps, overrides: RetentionOverrides = {}): RunningWorker {
  const { config, logger, metrics } = infra;
  const { retention } = config;
  const stopping = new AbortController();
  for (const table of RETAINED_TABLES) metrics.countPruned(table, 0);
  const prune = new PruneExpiredRecords(
    new PgRetentionStore(infra.pool),
    retentionAges(retention),
    overrides.clock ?? systemClock,
    { batchSize: retention.batchSize, onDeleted: (table, rows) => metrics.countPruned(table, rows), signal: stopping.signal },
  );
  const running = startQueueWorker(infra, QUEUES.maintenance, {
    processor: createRetentionProcessor(prune, logger, metrics),
    concurrency: 1,
  });

  // Set after the worker exists: the scheduler's first job is due at once. Redis being down
  // at start-up does not stop the relay: the scheduler is set once it is back.
  let retry: NodeJS.Timeout | undefined;
  const schedule = () => {
    infra.queues.maintenance
      .upsertJobScheduler(
        RETENTION_SCHEDULER_ID,
        { every: retention.intervalMs },
        { name: RETENTION_JOB_NAME, data: {}, opts: maintenanceJobOptions },
      )
      .then(
        () => logger.info({ intervalMs: retention.intervalMs, batchSize: retention.batchSize }, 'retention scheduled'),
        (error: unknown) => {
          if (stopping.signal.aborted) return;
          logger.warn({ err: error }, 'could not set the retention job scheduler; trying again');
          retry = setTimeout(schedule, SCHEDULE_RETRY_MS);
          retry.unref();
        },
      );
  };
  schedule();

  return {
    worker: running.worker,
    async stop(graceMs) {
      stopping.abort();
      clearTimeout(retry);
      await running.stop(graceMs);
    },
  };
}
