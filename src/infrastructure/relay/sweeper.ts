import type { JobsOptions, Queue } from 'bullmq';
import type pg from 'pg';
import { EMAIL_JOB_NAME, type EmailJobData } from '../../../queues/emails.js';
import { WEBHOOK_JOB_NAME, type WebhookJobData } from '../../../queues/webhooks.js';
import type { Logger } from '../logger.js';
import { gaveUpRow, recordGaveUpSql } from '../triage/gave-up-commands.js';
import { FailureStreak } from '../failure-streak.js';
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
  /**
   * More that Redis may have lost and PostgreSQL knows, restored every interval beside the
   * sweep: the job schedulers of recurring schedules. Resolves with how many it restored.
   */
  alsoRestore?: { execute(): Promise<number> };
  /**
   * The `commands` queue: when given, each pass also copies the command jobs that gave up
   * into gave_up_commands, for those the worker could not record (PostgreSQL was down).
   */
  commands?: Queue | undefined;
  /**
   * How long the triage list keeps a command that gave up (RETENTION_GAVE_UP_COMMANDS): a
   * failed job that gave up longer ago is not copied, or a row retention deleted would come
   * back (BullMQ trims failed jobs by age only when another job fails, so old ones can stay in
   * Redis for as long as nothing fails). Unset: every failed job is copied.
   */
  gaveUpKeptMs?: number | undefined;
  /**
   * Rows this process is attempting now (the relay's first attempts, which have no job while
   * they run): left alone however old they are.
   */
  attempting?: (id: string) => boolean;
}

/** Failed command jobs read per round trip. */
const FAILED_PAGE = 200;
/**
 * Each pass after the first reads the failed set back to this long before the previous pass
 * began: enough for clocks of worker hosts that run a little behind.
 */
const FAILED_OVERLAP_MS = 60_000;

/**
 * PostgreSQL, not Redis, is the source of truth: the sweeper finds email and webhook rows that
 * are still pending but whose job is gone (Redis lost its data, a job was removed) or finished
 * without settling the row (a worker crashed in between), and enqueues them again with the
 * same job id. A row waiting for a retry gets its job back delayed until its next attempt.
 */
export class Sweeper {
  /** The sweep and the restoring of job schedulers: side by side, each failing on its own. */
  private readonly periodic: PeriodicTask[];
  /** Command jobs that failed before this (epoch ms) were looked at already; 0: none yet. */
  private failedSince = 0;

  constructor(private readonly options: SweeperOptions) {
    const { logger } = options;
    const intervalMs = options.intervalMs ?? 30_000;
    this.periodic = [
      new PeriodicTask(() => this.sweep(), intervalMs, new FailureStreak(logger, 'sweep failed')),
      new PeriodicTask(() => this.restoreMore(), intervalMs, new FailureStreak(logger, 'restoring job schedulers failed')),
    ];
  }

  start(): void {
    for (const task of this.periodic) task.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.periodic.map((task) => task.stop()));
  }

  /** Runs `alsoRestore`, logging what it restored. */
  async restoreMore(): Promise<number> {
    const restored = (await this.options.alsoRestore?.execute()) ?? 0;
    if (restored > 0) this.options.logger.warn({ restored }, 'sweeper restored job schedulers missing from Redis');
    return restored;
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
      if (this.options.attempting?.(row.id)) continue;
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
    if (this.options.commands) await this.recordGaveUp(this.options.commands);
    return restored;
  }

  /**
   * Copies the command jobs in BullMQ's failed set that gave up and are not recorded yet into
   * gave_up_commands (the statement skips those with an outcome or a row already). The first
   * pass reads the whole set (jobs stay there for days), later ones only what failed since the
   * pass before, newest first. Returns how many it recorded.
   */
  async recordGaveUp(commands: Queue): Promise<number> {
    const startedAt = Date.now();
    const since = this.failedSince;
    let recorded = 0;
    const keptSince = this.options.gaveUpKeptMs === undefined ? -Infinity : startedAt - this.options.gaveUpKeptMs;
    for (let start = 0; ; start += FAILED_PAGE) {
      const jobs = await commands.getJobs(['failed'], start, start + FAILED_PAGE - 1, false);
      const rows = jobs.flatMap((job) => ((job.finishedOn ?? startedAt) >= keptSince ? (gaveUpRow(job) ?? []) : []));
      if (rows.length > 0) {
        const result = await this.options.pool.query(recordGaveUpSql('$1'), [JSON.stringify(rows)]);
        recorded += result.rowCount ?? 0;
      }
      const oldest = jobs.at(-1)?.finishedOn ?? 0;
      if (jobs.length < FAILED_PAGE || oldest < since || oldest < keptSince) break;
    }
    this.failedSince = startedAt - FAILED_OVERLAP_MS;
    if (recorded > 0) this.options.logger.warn({ recorded }, 'sweeper recorded commands that gave up, which the worker could not (PostgreSQL down, or the worker gone)');
    return recorded;
  }
}
