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

  private readonly httpDuration = this.histogram(
    'http_request_duration_seconds',
    'Time to answer an HTTP request, by method, route pattern and status code.',
    ['method', 'route', 'status_code'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  private readonly jobsCompleted = this.counter(
    'conveyor_jobs_completed_total',
    'Jobs that completed, by queue and job name (the command type on the commands queue).',
    ['queue', 'name'],
  );
  private readonly jobsFailed = this.counter(
    'conveyor_jobs_failed_total',
    'Failed job attempts, by queue, job name and outcome: permanent (no retry left or unrecoverable) or will_retry.',
    ['queue', 'name', 'outcome'],
  );
  private readonly jobsRetried = this.counter(
    'conveyor_jobs_retried_total',
    'Job attempts started after an earlier attempt failed, by queue and job name.',
    ['queue', 'name'],
  );
  private readonly jobsStalled = this.counter(
    'conveyor_jobs_stalled_total',
    'Jobs whose worker stopped renewing their lock (crashed or blocked); BullMQ hands them to another worker.',
    ['queue'],
  );
  private readonly jobDuration = this.histogram(
    'conveyor_job_duration_seconds',
    'Time from a job attempt starting to it settling (completed or failed), by queue and job name.',
    ['queue', 'name'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  private readonly emailDeliveries = this.counter(
    'conveyor_email_deliveries_total',
    'Email jobs by outcome: sent, skipped (duplicate), retry, failed (last attempt), rejected (5xx), unrenderable.',
    ['outcome'],
  );
  private readonly webhookDeliveries = this.counter(
    'conveyor_webhook_deliveries_total',
    'Webhook delivery attempts by outcome: delivered, skipped (duplicate), retry, failed (schedule exhausted), gone (410), endpoint_disabled, throttled (waits for its endpoint\'s delivery rate, not an attempt).',
    ['outcome'],
  );
  private readonly rowsPruned = this.counter(
    'conveyor_retention_deleted_rows_total',
    'Rows the retention job deleted because they outlived their retention, by table.',
    ['table'],
  );
  private readonly retentionRuns = this.counter(
    'conveyor_retention_runs_total',
    'Retention runs by outcome: completed, stopped (the process stopped mid-run), skipped (another run held the lock).',
    ['outcome'],
  );
  private readonly eventsPublished = this.counter(
    'conveyor_outbox_events_published_total',
    'Outbox events the relay turned into email and webhook jobs, by event type.',
    ['type'],
  );

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

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
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

  /** Rows retention deleted from `table` (0 makes the series exist before the first run). */
  countPruned(table: string, rows: number): void {
    this.rowsPruned.inc({ table }, rows);
  }

  countRetentionRun(outcome: string): void {
    this.retentionRuns.inc({ outcome });
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
