import { UnrecoverableError, type Job, type Queue, type Worker } from 'bullmq';
import type pg from 'pg';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../logger.js';

/** The states whose job counts are exported per queue (queue depth). */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/** How a failed job attempt ends: failed for good, or retried later by BullMQ. */
export type JobFailure = 'permanent' | 'will_retry';

export interface MetricsOptions {
  /** Logs a scrape-time collection that failed (Redis or PostgreSQL unreachable). */
  logger?: Logger;
  /** A scrape-time collection that takes longer than this is given up (the gauge is left empty). */
  collectTimeoutMs?: number;
}

/**
 * The Prometheus metrics of one process: one registry, the default process metrics under
 * their standard names (`process_*`, `nodejs_*`), and conveyor's own (`conveyor_*`, plus the
 * conventional `http_request_duration_seconds`).
 *
 * Counters and histograms are incremented where things happen (HTTP hook, worker events,
 * processors). Queue depth and the outbox are system-wide facts read at scrape time, so they
 * are only tracked by a process that asks for it (the web role): every web replica reports
 * the same values — aggregate them with `max`, not `sum`.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly contentType: string = this.registry.contentType;

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly jobsCompleted = new Counter({
    name: 'conveyor_jobs_completed_total',
    help: 'Jobs that completed, by queue and job name (the command type on the commands queue).',
    labelNames: ['queue', 'name'] as const,
    registers: [this.registry],
  });
  private readonly jobsFailed = new Counter({
    name: 'conveyor_jobs_failed_total',
    help: 'Failed job attempts, by queue, job name and outcome: permanent (no retry left or unrecoverable) or will_retry.',
    labelNames: ['queue', 'name', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly jobsRetried = new Counter({
    name: 'conveyor_jobs_retried_total',
    help: 'Job attempts started after an earlier attempt failed, by queue and job name.',
    labelNames: ['queue', 'name'] as const,
    registers: [this.registry],
  });
  private readonly jobsStalled = new Counter({
    name: 'conveyor_jobs_stalled_total',
    help: 'Jobs whose worker stopped renewing their lock (crashed or blocked); BullMQ hands them to another worker.',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });
  private readonly jobDuration = new Histogram({
    name: 'conveyor_job_duration_seconds',
    help: 'Time from a job attempt starting to it settling (completed or failed), by queue and job name.',
    labelNames: ['queue', 'name'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly emailDeliveries = new Counter({
    name: 'conveyor_email_deliveries_total',
    help: 'Email jobs by outcome: sent, skipped (duplicate), retry, failed (last attempt), rejected (5xx), unrenderable.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly webhookDeliveries = new Counter({
    name: 'conveyor_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, skipped (duplicate), retry, failed (schedule exhausted), gone (410), endpoint_disabled.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  private readonly eventsPublished = new Counter({
    name: 'conveyor_outbox_events_published_total',
    help: 'Outbox events the relay turned into email and webhook jobs, by event type.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });

  private readonly logger: Logger | undefined;
  private readonly collectTimeoutMs: number;
  private readonly observedWorkers = new WeakSet<Worker>();
  private queuesTracked = false;
  private outboxTracked = false;

  constructor(options: MetricsOptions = {}) {
    this.logger = options.logger;
    this.collectTimeoutMs = options.collectTimeoutMs ?? 2000;
    collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of every metric of this process. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** One answered HTTP request; `route` is the route pattern (`/v1/orders/:orderId`), never the raw URL. */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  countEmail(outcome: string): void {
    this.emailDeliveries.inc({ outcome });
  }

  countWebhook(outcome: string): void {
    this.webhookDeliveries.inc({ outcome });
  }

  countPublished(type: string): void {
    this.eventsPublished.inc({ type });
  }

  /**
   * Counts a BullMQ worker's jobs from its events: completed, failed (permanent or will
   * retry), retried and stalled, and the duration of each attempt. Every worker role uses it.
   */
  observeWorker(worker: Worker): void {
    if (this.observedWorkers.has(worker)) return;
    this.observedWorkers.add(worker);
    const queue = worker.name;
    worker.on('active', (job: Job) => {
      if (job.attemptsMade > 0) this.jobsRetried.inc({ queue, name: job.name });
    });
    worker.on('completed', (job: Job) => {
      this.jobsCompleted.inc({ queue, name: job.name });
      this.observeDuration(queue, job);
    });
    worker.on('failed', (job: Job | undefined, error: Error) => {
      // No job: it failed outside an attempt (a stalled job over its limit); counted as stalled.
      if (!job) return;
      this.jobsFailed.inc({ queue, name: job.name, outcome: failureOf(job, error) });
      this.observeDuration(queue, job);
    });
    worker.on('stalled', () => this.jobsStalled.inc({ queue }));
  }

  /** Queue depth per queue and state, read from Redis at scrape time (`getJobCounts`). */
  trackQueues(queues: readonly Queue[]): void {
    if (this.queuesTracked) return;
    this.queuesTracked = true;
    // collect() runs on the gauge itself; an arrow function keeps `this` the Metrics.
    const collect = async (gauge: Gauge<'queue' | 'state'>) => {
      gauge.reset();
      await Promise.all(
        queues.map(async (queue) => {
          const counts = await this.withTimeout(`queue ${queue.name}`, queue.getJobCounts(...QUEUE_STATES));
          if (!counts) return;
          for (const state of QUEUE_STATES) gauge.set({ queue: queue.name, state }, counts[state] ?? 0);
        }),
      );
    };
    new Gauge({
      name: 'conveyor_queue_jobs',
      help: 'Jobs per queue and state (waiting, active, delayed, failed, completed), read at scrape time.',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      async collect() {
        await collect(this);
      },
    });
  }

  /**
   * The outbox: how many rows wait for the relay and how old the oldest is, read with one
   * query at scrape time. A growing lag means the relay is down or cannot keep up.
   */
  trackOutbox(pool: pg.Pool): void {
    if (this.outboxTracked) return;
    this.outboxTracked = true;
    let reading: Promise<{ backlog: number; lag: number } | undefined> | undefined;
    // Both gauges are collected in one scrape: they share a single query.
    const read = () => {
      reading ??= this.withTimeout(
        'outbox',
        pool
          .query<{ backlog: number; lag: number }>(
            `select count(*)::int as backlog,
                    coalesce(extract(epoch from now() - min(occurred_at)), 0)::float8 as lag
               from outbox_messages where published_at is null`,
          )
          .then((result) => result.rows[0]),
      ).finally(() => {
        setImmediate(() => (reading = undefined));
      });
      return reading;
    };
    new Gauge({
      name: 'conveyor_outbox_lag_seconds',
      help: 'Age of the oldest unpublished outbox row (0 when the outbox is empty).',
      registers: [this.registry],
      async collect() {
        this.reset();
        const row = await read();
        if (row) this.set(Math.max(0, row.lag));
      },
    });
    new Gauge({
      name: 'conveyor_outbox_backlog',
      help: 'Outbox rows not yet published by the relay.',
      registers: [this.registry],
      async collect() {
        this.reset();
        const row = await read();
        if (row) this.set(row.backlog);
      },
    });
  }

  private observeDuration(queue: string, job: Job): void {
    if (job.processedOn === undefined) return;
    const seconds = ((job.finishedOn ?? Date.now()) - job.processedOn) / 1000;
    this.jobDuration.observe({ queue, name: job.name }, Math.max(0, seconds));
  }

  /**
   * A scrape must answer even when Redis or PostgreSQL does not: a failed or slow collection
   * leaves its gauge empty (absent from the output, not a stale value) and is logged.
   */
  private async withTimeout<T>(what: string, promise: Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${this.collectTimeoutMs} ms`)), this.collectTimeoutMs);
    });
    try {
      return await Promise.race([promise, timeout]);
    } catch (error) {
      this.logger?.warn({ err: error, metric: what }, 'could not collect a metric at scrape time');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Whether BullMQ will run the job again: not after an UnrecoverableError, nor once its
 * attempts are used up (`attemptsMade` already counts the attempt that just failed).
 */
export function failureOf(job: Pick<Job, 'attemptsMade' | 'opts'>, error: Error | undefined): JobFailure {
  const unrecoverable = error instanceof UnrecoverableError || error?.name === 'UnrecoverableError';
  return unrecoverable || job.attemptsMade >= (job.opts.attempts ?? 1) ? 'permanent' : 'will_retry';
}
