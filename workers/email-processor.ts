import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../src/infrastructure/logger.js';
import { emailJobData, maxRetryDelayMs } from '../queues/emails.js';
import { encodeFailure } from '../queues/failure.js';
import type { EmailMessageStore, SkipReason } from '../src/infrastructure/mail/email-message-store.js';
import type { Mailer } from '../src/infrastructure/mail/mailer.js';
import { classifySendError } from '../src/infrastructure/mail/smtp-errors.js';
import { EmailRenderError, isEmailTemplateName, renderEmail, type RenderedEmail } from '../src/infrastructure/mail/templates.js';

export interface EmailProcessorDeps {
  store: EmailMessageStore;
  mailer: Mailer;
  logger: Logger;
  /** Product name in subjects and signatures. */
  brand?: string;
  /** Counts each job's outcome (Prometheus `conveyor_email_deliveries_total`). */
  metrics?: EmailMetrics;
}

/** What an email job came to: `failed` is a temporary failure on the last attempt. */
export type EmailOutcome = 'sent' | 'skipped' | 'unrenderable' | 'rejected' | 'retry' | 'failed';

export interface EmailMetrics {
  countEmail(outcome: EmailOutcome): void;
}

export type EmailJobResult = { status: 'sent'; response: string } | { status: 'skipped'; reason: SkipReason };

/** What happened inside the row's transaction; errors are thrown only after it commits. */
type Attempt =
  | { outcome: 'sent'; response: string }
  | { outcome: 'unrenderable'; reason: string }
  | { outcome: 'rejected'; response: string }
  | { outcome: 'retry'; response: string; gaveUp: boolean };

/**
 * The processor of the `emails` queue: one job sends one email_messages row.
 *
 * A row that is missing, no longer pending, or being sent by another job makes the job a no-op
 * (a duplicate). Otherwise the email is rendered from its outbox event and sent with the row's
 * Message-ID, and the outcome is recorded on the row before the job settles:
 *  - accepted: status sent, sent_at, the server's response;
 *  - temporary failure (4xx, connection lost, timeout): attempt and response recorded, with
 *    next_attempt_at, and the error is thrown so BullMQ retries with backoff; on the job's last
 *    attempt the row is marked failed instead;
 *  - permanent rejection (5xx) or an event the template cannot render: status failed, and the
 *    job fails at once (UnrecoverableError).
 */
export function createEmailProcessor(deps: EmailProcessorDeps) {
  const { store, mailer, logger, brand, metrics } = deps;

  return async function processEmail(job: Job): Promise<EmailJobResult> {
    const parsed = emailJobData.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(encodeFailure({ code: 'invalid_payload', message: 'emailId must be a UUID' }));
    const { emailId } = parsed.data;
    const attemptNumber = job.attemptsMade + 1;
    const lastAttempt = attemptNumber >= (job.opts.attempts ?? 1);
    let log = logger.child({ jobId: job.id, emailId });

    const claim = await store.withPendingEmail(emailId, async (email, record): Promise<Attempt> => {
      log = log.child({ eventId: email.eventId, template: email.template });
      let rendered: RenderedEmail;
      try {
        if (!isEmailTemplateName(email.template)) throw new EmailRenderError(email.template, 'unknown template');
        if (!email.event) throw new EmailRenderError(email.template, `outbox event ${email.eventId} not found`);
        rendered = renderEmail(email.template, email.event.payload, { recipientName: email.recipientName, brand });
      } catch (error) {
        if (!(error instanceof EmailRenderError)) throw error;
        const reason = encodeFailure({ code: 'render_failed', message: error.message });
        await record.failed(reason, false);
        return { outcome: 'unrenderable', reason };
      }

      const started = performance.now();
      let sent: Awaited<ReturnType<typeof mailer.send>>;
      try {
        sent = await mailer.send({ emailId, messageId: email.messageId, to: email.toAddress, ...rendered });
      } catch (error) {
        const failure = classifySendError(error);
        if (failure.kind === 'permanent') {
          await record.failed(failure.response, true);
          return { outcome: 'rejected', response: failure.response };
        }
        if (lastAttempt) {
          await record.failed(failure.response, true);
        } else {
          await record.retry(failure.response, maxRetryDelayMs(attemptNumber));
        }
        return { outcome: 'retry', response: failure.response, gaveUp: lastAttempt };
      }
      // Outside the send's try: a database error here is not an SMTP failure (the job is
      // retried as an infrastructure error, and the same Message-ID lets receivers dedupe).
      await record.sent(sent.response);
      log.info({ attempt: attemptNumber, ms: Math.round(performance.now() - started), response: sent.response }, 'email sent');
      return { outcome: 'sent', response: sent.response };
    });

    const outcome: EmailOutcome = !claim.claimed
      ? 'skipped'
      : claim.value.outcome === 'retry' && claim.value.gaveUp
        ? 'failed'
        : claim.value.outcome;
    metrics?.countEmail(outcome);
    if (!claim.claimed) {
      log.info({ reason: claim.reason }, 'email job skipped: nothing pending to send');
      return { status: 'skipped', reason: claim.reason };
    }
    const attempt = claim.value;
    switch (attempt.outcome) {
      case 'sent':
        return { status: 'sent', response: attempt.response };
      case 'unrenderable':
        log.error({ reason: attempt.reason }, 'email cannot be rendered; marked failed');
        throw new UnrecoverableError(attempt.reason);
      case 'rejected':
        log.warn({ attempt: attemptNumber, response: attempt.response }, 'email rejected by the SMTP server; marked failed');
        throw new UnrecoverableError(encodeFailure({ code: 'smtp_rejected', message: attempt.response }));
      case 'retry':
        if (attempt.gaveUp) {
          log.error({ attempt: attemptNumber, response: attempt.response }, 'email failed on its last attempt; marked failed');
        } else {
          log.warn({ attempt: attemptNumber, response: attempt.response }, 'email failed temporarily; will retry');
        }
        throw new Error(encodeFailure({ code: 'smtp_temporary', message: attempt.response }));
    }
  };
}
