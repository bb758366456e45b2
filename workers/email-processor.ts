import { UnrecoverableError, type Job } from 'bullmq';
import type { SendEmail, SendEmailOutput } from '../src/application/email/send-email.js';
import type { SkipReason } from '../src/application/email/ports.js';
import type { Logger } from '../src/infrastructure/logger.js';
import { emailJobData, maxRetryDelayMs } from '../queues/emails.js';
import { encodeFailure } from '../queues/failure.js';

/** What an email job came to: `failed` is a temporary failure on the last attempt. */
export type EmailOutcome = SendEmailOutput['outcome'];

export interface EmailMetrics {
  /** Counts each job's outcome (Prometheus `conveyor_email_deliveries_total`). */
  countEmail(outcome: EmailOutcome): void;
}

export type EmailJobResult = { status: 'sent'; response: string } | { status: 'skipped'; reason: SkipReason };

/**
 * The processor of the `emails` queue: one job sends one email_messages row (SendEmail does
 * the work and records it on the row before the job settles), mapped to BullMQ:
 *  - sent, or a duplicate job → the job completes;
 *  - a temporary failure → an error, so BullMQ retries with backoff; the row's
 *    next_attempt_at is the longest wait that backoff can choose;
 *  - a rejection (5xx), an event that cannot be rendered, a temporary failure on the last
 *    attempt → the job fails (UnrecoverableError for the first two: no retry).
 * Errors of our own (database down) are thrown as they are: BullMQ retries them.
 */
export function createEmailProcessor(sendEmail: Pick<SendEmail, 'execute'>, logger: Logger, metrics?: EmailMetrics) {
  return async function processEmail(job: Job): Promise<EmailJobResult> {
    const parsed = emailJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(encodeFailure({ code: 'invalid_payload', message: 'emailId must be a UUID' }));
    const { emailId } = parsed.data;
    const attempt = job.attemptsMade + 1;
    const lastAttempt = attempt >= (job.opts.attempts ?? 1);
    const log = logger.child({ jobId: job.id, emailId });

    const started = performance.now();
    const result = await sendEmail.execute({ emailId, retryInMs: lastAttempt ? null : maxRetryDelayMs(attempt) });
    metrics?.countEmail(result.outcome);
    if (result.outcome === 'skipped') {
      log.info({ reason: result.reason }, 'email job skipped: nothing pending to send');
      return { status: 'skipped', reason: result.reason };
    }

    const claimed = log.child({ eventId: result.eventId, template: result.template });
    switch (result.outcome) {
      case 'sent':
        claimed.info({ attempt, ms: Math.round(performance.now() - started), response: result.response }, 'email sent');
        return { status: 'sent', response: result.response };
      case 'unrenderable':
        claimed.error({ reason: result.reason }, 'email cannot be rendered; marked failed');
        throw new UnrecoverableError(result.reason);
      case 'rejected':
        claimed.warn({ attempt, response: result.response }, 'email rejected by the SMTP server; marked failed');
        throw new UnrecoverableError(encodeFailure({ code: 'smtp_rejected', message: result.response }));
      case 'retry':
        claimed.warn({ attempt, response: result.response }, 'email failed temporarily; will retry');
        throw new Error(encodeFailure({ code: 'smtp_temporary', message: result.response }));
      case 'failed':
        claimed.error({ attempt, response: result.response }, 'email failed on its last attempt; marked failed');
        throw new Error(encodeFailure({ code: 'smtp_temporary', message: result.response }));
    }
  };
}
