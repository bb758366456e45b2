import type { JobsOptions, Queue } from 'bullmq';
import type pg from 'pg';
import { EMAIL_JOB_NAME, type EmailJobData } from '../../../queues/emails.js';
import { WEBHOOK_JOB_NAME, type WebhookJobData } from '../../../queues/webhooks.js';
import type { Logger } from '../logger.js';
import { PeriodicTask } from '../periodic.js';

export interface SweeperOptions {
  pool: pg.Pool;
  emails: Queue;
  webhooks: Queue;
  emailJobOptions: JobsOptions;
  webhookJobOptions: JobsOptions;
  logger: Logger;
  /** How often to look. */
  intervalMs?: number;
  /** Rows younger than this are left to the relay that is enqueuing them. */
  graceMs?: number;
  batchSize?: number;
}

/**
 * PostgreSQL, not Redis, is the source of truth: the sweeper finds email and webhook rows that
 * are still pending but whose job is gone (Redis lost its data, a job was removed) or finished
 * without settling the row (a worker crashed in between), and enqueues them again with the
 * same job id. A row waiting for a retry gets its job back delayed until its next attempt.
 */
export class Sweeper {
  private readonly periodic: PeriodicTask;

  constructor(private readonly options: SweeperOptions) {
    this.periodic = new PeriodicTask(
      () => this.sweep(),
      options.intervalMs ?? 30_000,
      (error) => options.logger.error({ err: error }, 'sweep failed'),
    );
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass; returns how many jobs it restored. */
  async sweep(): Promise<number> {
    const graceMs = this.options.graceMs ?? 30_000;
    const limit = this.options.batchSize ?? 1000;
    const rows = await this.options.pool.query<{
      id: string;
      kind: 'email' | 'webhook';
      next_attempt_at: Date | null;
      attempts: number;
    }>(
      `(select id, 'webhook' as kind, next_attempt_at, attempts from webhook_deliveries
         where status = 'pending' and created_at < now() - make_interval(secs => $1::double precision / 1000)
         order by created_at limit $2)
       union all
       (select id, 'email' as kind, next_attempt_at, attempts from email_messages
         where status = 'pending' and created_at < now() - make_interval(secs => $1::double precision / 1000)
         order by created_at limit $2)`,
      [graceMs, limit],
    );
    let restored = 0;
    for (const row of rows.rows) {
      const queue = row.kind === 'email' ? this.options.emails : this.options.webhooks;
      const job = await queue.getJob(row.id);
      if (job) {
        const state = await job.getState();
        // waiting, delayed, active, prioritized: the job will settle the row.
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue;
        await job.remove().catch(() => undefined);
      }
      const delay = row.next_attempt_at ? Math.max(0, row.next_attempt_at.getTime() - Date.now()) : 0;
      if (row.kind === 'email') {
        const data: EmailJobData = { emailId: row.id };
        await queue.add(EMAIL_JOB_NAME, data, { ...this.options.emailJobOptions, jobId: row.id, delay });
      } else {
        // A webhook job goes on with the retry schedule where the lost job left it.
        const data: WebhookJobData = { deliveryId: row.id, attemptsBefore: row.attempts };
        await queue.add(WEBHOOK_JOB_NAME, data, { ...this.options.webhookJobOptions, jobId: row.id, delay });
      }
      restored += 1;
    }
    if (restored > 0) this.options.logger.warn({ restored }, 'sweeper restored jobs missing from Redis');
    return restored;
  }
}
