import type { JobsOptions, Queue } from 'bullmq';
import type { SendEmail } from '../../application/email/send-email.js';
import type { DeliverWebhook } from '../../application/webhooks/deliver-webhook.js';
import type { DeliveryToSend } from '../../application/webhooks/ports.js';
import { EMAIL_JOB_NAME, maxRetryDelayMs, type EmailJobData } from '../../../queues/emails.js';
import { WEBHOOK_JOB_NAME, type WebhookJobData } from '../../../queues/webhooks.js';
import type { Logger } from '../logger.js';
import { logMadeAttempt } from '../webhooks/attempt-log.js';
import type { SendingRow } from '../webhooks/postgres-webhook-repository.js';

/** A row the relay has just created: an email_messages or a webhook_deliveries row. */
export interface NewRow {
  id: string;
  kind: 'email' | 'webhook';
  /**
   * A delivery that the relay's insert created already claimed for its first attempt, with
   * the row and its endpoint as that statement read them: the attempt makes no claim of its
   * own (one round trip fewer).
   */
  claim?: ClaimAtInsert | undefined;
}

/** A delivery claimed by the statement that created it. */
export interface ClaimAtInsert {
  attemptId: string;
  startedAt: Date;
  row: SendingRow;
}

export interface FirstAttemptsOptions {
  sendEmail: Pick<SendEmail, 'execute'>;
  deliverWebhook: Pick<DeliverWebhook, 'execute'>;
  /** Where a retry goes, and a row the relay could not attempt. */
  emails: Queue;
  webhooks: Queue;
  emailJobOptions: JobsOptions;
  webhookJobOptions: JobsOptions;
  logger: Logger;
  metrics?: { countEmail(outcome: string): void; countWebhook(outcome: string): void };
  /** Attempts in flight at most (WORKER_CONCURRENCY); the rows past it are queued. */
  concurrency: number;
  /** What an attempt of a delivery claimed at insert needs (the webhook repository's `toSend`). */
  toSend: (row: SendingRow, attemptId: string, startedAt: Date) => DeliveryToSend;
}

/**
 * The first attempt of an email and of a webhook delivery, made by the relay that created the
 * row instead of by a job on `emails` or `webhooks` (docs/adr/0024-relay-first-attempt.md):
 * two queue hops fewer per order. The use cases are the ones the mailer and the webhooks
 * worker run, so an attempt claims, sends and records its row exactly as a job's first run
 * would. What follows an attempt goes on the queues as before:
 * - a temporary failure → a job delayed until the retry is due (a webhook's carries the attempt
 *   made, so its schedule goes on; an email's gets the queue's attempts after this one);
 * - a webhook whose endpoint's rate is used up → a job delayed until its slot, marked as having
 *   waited (no attempt was made);
 * - an error of our own (the database down) → a job now, which retries it as a job would.
 * The relay attempts a row only after the transaction that created it committed; a row it
 * attempts has no job until then, so a relay that dies mid-attempt leaves a pending row
 * without a job, which the sweeper re-enqueues after SWEEP_GRACE_MS, as it does a job Redis lost.
 */
export class FirstAttempts {
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(private readonly options: FirstAttemptsOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new RangeError(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
  }

  /**
   * How many rows an attempt could start for now. Only the relay's batch starts attempts, one
   * batch at a time, so until its rows are started this can only grow.
   */
  room(): number {
    return Math.max(0, this.options.concurrency - this.inFlight.size);
  }

  /** Whether this relay is attempting the row now (the sweeper leaves it alone). */
  attempting(id: string): boolean {
    return this.inFlight.has(id);
  }

  /**
   * Starts the first attempt of as many rows as there is room for, and returns the others
   * (to be queued). A row already being attempted is neither started again nor returned (the
   * relay hands over only rows its batch inserted, so this is a guard, not a path it takes).
   */
  startSome<Row extends NewRow>(rows: readonly Row[], run: (row: Row, attempt: () => Promise<void>) => Promise<void> = (_, attempt) => attempt()): Row[] {
    const rest: Row[] = [];
    for (const row of rows) {
      if (this.inFlight.has(row.id)) continue;
      if (this.inFlight.size >= this.options.concurrency) {
        rest.push(row);
        continue;
      }
      const attempt = () => (row.kind === 'email' ? this.email(row.id) : this.webhook(row.id, row.claim));
      const running = run(row, attempt)
        .catch((error: unknown) => this.options.logger.error({ err: error, id: row.id, kind: row.kind }, 'first attempt failed unexpectedly; the sweeper restores the row'))
        .finally(() => this.inFlight.delete(row.id));
      this.inFlight.set(row.id, running);
    }
    return rest;
  }

  /** Resolves once no attempt is in flight (those started meanwhile included). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight.values());
  }

  private async email(emailId: string): Promise<void> {
    const { sendEmail, logger, metrics } = this.options;
    const log = logger.child({ emailId, attempt: 1, by: 'relay' });
    let result: Awaited<ReturnType<SendEmail['execute']>>;
    try {
      result = await sendEmail.execute({ emailId, retryInMs: maxRetryDelayMs(1) });
    } catch (error) {
      log.warn({ err: error }, 'first attempt of an email could not be made; queued');
      return this.queueEmail(emailId, 0);
    }
    metrics?.countEmail(result.outcome);
    if (result.outcome === 'skipped') {
      log.info({ reason: result.reason }, 'email skipped: nothing pending to send');
      return;
    }
    const claimed = log.child({ eventId: result.eventId, template: result.template });
    switch (result.outcome) {
      case 'sent':
        claimed.info({ response: result.response }, 'email sent');
        return;
      case 'unrenderable':
        claimed.error({ reason: result.reason }, 'email cannot be rendered; marked failed');
        return;
      case 'rejected':
        claimed.warn({ response: result.response }, 'email rejected by the SMTP server; marked failed');
        return;
      case 'retry':
        claimed.warn({ response: result.response, retryInMs: result.retryInMs }, 'email failed temporarily; queued for a retry');
        return this.queueEmail(emailId, result.retryInMs);
      case 'failed':
        // Not reached: the first attempt always has a retry left.
        claimed.error({ response: result.response }, 'email failed; marked failed');
    }
  }

  private async webhook(deliveryId: string, claim: ClaimAtInsert | undefined): Promise<void> {
    const { deliverWebhook, webhookJobOptions, logger, metrics, toSend } = this.options;
    const log = logger.child({ deliveryId, attempt: 1, by: 'relay' });
    let result: Awaited<ReturnType<DeliverWebhook['execute']>>;
    try {
      const claimed = claim ? { claimed: toSend(claim.row, claim.attemptId, claim.startedAt) } : {};
      result = await deliverWebhook.execute({ deliveryId, attempt: 0, canRetry: (webhookJobOptions.attempts ?? 1) > 1, ...claimed });
    } catch (error) {
      log.warn({ err: error }, 'first attempt of a webhook delivery could not be made; queued');
      return this.queueWebhook({ deliveryId }, 0);
    }
    metrics?.countWebhook(result.outcome);
    switch (result.outcome) {
      case 'skipped':
        log.info({ reason: result.reason }, 'webhook delivery skipped: nothing pending');
        return;
      case 'endpoint_disabled':
        log.warn({ eventId: result.eventId, endpointId: result.endpointId }, 'webhook delivery failed: endpoint disabled');
        return;
      case 'throttled':
        log.debug({ endpointId: result.endpointId, waitMs: result.delayMs }, 'webhook delivery waits for its endpoint\'s rate; queued');
        return this.queueWebhook({ deliveryId, waitedForRate: true }, result.delayMs);
      default:
        break;
    }
    logMadeAttempt(log, result);
    // The retry's job carries the attempt made, so the schedule goes on where it is.
    if (result.outcome === 'retry') await this.queueWebhook({ deliveryId, attemptsBefore: 1 }, result.delayMs);
  }

  // A job that cannot be added (Redis down) leaves the row pending without one: the sweeper
  // restores it, delayed until the row's next_attempt_at.
  private async queueEmail(emailId: string, delay: number): Promise<void> {
    const data: EmailJobData = { emailId };
    await this.options.emails.add(EMAIL_JOB_NAME, data, { ...this.options.emailJobOptions, jobId: emailId, delay });
  }

  private async queueWebhook(data: WebhookJobData, delay: number): Promise<void> {
    await this.options.webhooks.add(WEBHOOK_JOB_NAME, data, { ...this.options.webhookJobOptions, jobId: data.deliveryId, delay });
  }
}
