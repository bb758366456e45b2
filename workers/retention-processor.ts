import { UnrecoverableError, type Job } from 'bullmq';
import type { PruneExpiredRecords, PruneReport } from '../src/application/retention/prune-expired-records.js';
import type { Logger } from '../src/infrastructure/logger.js';
import { encodeFailure } from '../queues/failure.js';
import { RETENTION_JOB_NAME } from '../queues/maintenance.js';

export interface RetentionMetrics {
  /** Counts each run by outcome (Prometheus `conveyor_retention_runs_total`). */
  countRetentionRun(outcome: PruneReport['outcome']): void;
}

/**
 * The processor of the `maintenance` queue: a retention job runs one PruneExpiredRecords (the
 * rows it deletes are counted as it goes) and completes with its report, which Bull Board
 * shows. A run that found another holding the lock completes as `skipped`. An error (database
 * down) fails the job; the scheduler's next job is the retry.
 */
export function createRetentionProcessor(prune: Pick<PruneExpiredRecords, 'execute'>, logger: Logger, metrics?: RetentionMetrics) {
  return async function processRetention(job: Job): Promise<PruneReport> {
    if (job.name !== RETENTION_JOB_NAME) {
      throw new UnrecoverableError(encodeFailure({ code: 'invalid_payload', message: `no maintenance job is named ${job.name}` }));
    }
    const started = performance.now();
    const report = await prune.execute();
    metrics?.countRetentionRun(report.outcome);
    const log = logger.child({ jobId: job.id });
    if (report.outcome === 'skipped') {
      log.info('retention run skipped: another process is running one');
    } else {
      log.info(
        { deleted: report.deleted, batches: report.batches, ms: Math.round(performance.now() - started) },
        report.outcome === 'completed' ? 'retention run completed' : 'retention run stopped: the process is stopping',
      );
    }
    return report;
  };
}
