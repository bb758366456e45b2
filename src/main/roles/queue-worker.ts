import { Worker, type BackoffStrategy, type Job } from 'bullmq';
import type { QueueName } from '../../../queues/names.js';
import type { Infrastructure } from '../infrastructure.js';

/** What every BullMQ worker of a role uses. */
export type QueueWorkerDeps = Pick<Infrastructure, 'config' | 'logger' | 'metrics' | 'tracing' | 'workerConnection'>;

export interface RunningWorker {
  worker: Worker;
  /** Stops fetching and waits for in-flight jobs up to `graceMs`; the rest go to another worker. */
  stop(graceMs?: number): Promise<void>;
}

export interface QueueWorkerOptions {
  processor: (job: Job, token?: string) => Promise<unknown>;
  /** The strategy of the jobs' custom backoff type, if they use one. */
  backoffStrategy?: BackoffStrategy;
  /** Closes what the role built for its processor (an SMTP pool, an HTTP agent). */
  close?: () => Promise<void>;
  /** Jobs at once in this process; WORKER_CONCURRENCY by default. */
  concurrency?: number;
}

/**
 * One BullMQ worker of a process role, with the settings every role shares: the process's
 * blocking connection and queue prefix, WORKER_CONCURRENCY, WORKER_LOCK_MS as lock duration
 * and stalled-check interval (a dead process's jobs go back to the queue after 1–3× it),
 * tracing, job metrics, and logging of errors and of jobs that gave up.
 */
export function startQueueWorker(infra: QueueWorkerDeps, queue: QueueName, options: QueueWorkerOptions): RunningWorker {
  const { config, logger } = infra;
  const worker = new Worker(queue, options.processor, {
    connection: infra.workerConnection,
    prefix: config.queuePrefix,
    concurrency: options.concurrency ?? config.workerConcurrency,
    // BullMQ renews the lock while a job runs, so a job may take longer than the lock.
    lockDuration: config.workerLockMs,
    stalledInterval: config.workerLockMs,
    maxStalledCount: 5,
    ...(options.backoffStrategy ? { settings: { backoffStrategy: options.backoffStrategy } } : {}),
    telemetry: infra.tracing?.bullmq,
  });
  infra.metrics.observeWorker(worker);
  worker.on('error', (error) => logger.error({ err: error, queue }, 'worker error'));
  worker.on('failed', (job, error) => {
    // The processors log each outcome; this catches what gives up for good, whatever the cause.
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      // Ids only: payloads carry personal data (emails, names).
      const { commandId, emailId, deliveryId } = job.data as Record<string, unknown>;
      logger.error({ queue, jobId: job.id, name: job.name, commandId, emailId, deliveryId, err: error }, 'job gave up after its last attempt');
    }
  });
  return {
    worker,
    async stop(graceMs) {
      if ((await stopWorker(worker, graceMs)) === 'timeout') {
        logger.warn({ queue }, 'jobs still running after the grace period: left to another worker as stalled');
      }
      await options.close?.();
    },
  };
}

/** Resolves 'closed' when every active job finished, or 'timeout' after `graceMs`. */
export async function stopWorker(worker: Worker, graceMs = 25_000): Promise<'closed' | 'timeout'> {
  // close() stops fetching and waits for the active jobs. Past the grace period we stop
  // waiting (BullMQ ignores a second, forced close while the first is pending): the caller
  // closes the connections, the jobs' locks lapse, and another worker takes them over as
  // stalled, so nothing is lost.
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([worker.close().then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  return outcome;
}
