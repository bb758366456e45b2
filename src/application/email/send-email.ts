import type { EmailStore, Mailer, SkipReason } from './ports.js';
import { EmailRenderError, isEmailTemplateName, renderEmail, type RenderedEmail } from './templates.js';

export interface SendEmailInput {
  emailId: string;
  /**
   * When a temporary failure is tried again, at the latest (recorded as next_attempt_at); null
   * when nothing will try again (the queue's last attempt): the email then fails instead.
   */
  retryInMs: number | null;
}

/** The email_messages row an attempt was made on. */
interface Claimed {
  eventId: string;
  template: string;
}

export type SendEmailOutput =
  /** Nothing to do: no such row, already sent or failed, or another job is sending it. */
  | { outcome: 'skipped'; reason: SkipReason }
  | ({ outcome: 'sent'; response: string } & Claimed)
  /** The event cannot be rendered by the template (or is gone): failed, nothing sent. */
  | ({ outcome: 'unrenderable'; reason: string } & Claimed)
  /** The server rejected the message for good: failed. */
  | ({ outcome: 'rejected'; response: string } & Claimed)
  /** A temporary failure: still pending, to be tried again within `retryInMs`. */
  | ({ outcome: 'retry'; response: string; retryInMs: number } & Claimed)
  /** A temporary failure with no attempt left: failed. */
  | ({ outcome: 'failed'; response: string } & Claimed);

export interface SendEmailOptions {
  /** Product name in subjects and signatures; "conveyor" by default. */
  brand?: string | undefined;
}

/**
 * One attempt at one email_messages row.
 * - a row that is missing, no longer pending, or being sent by another job is left alone: the
 *   job is a duplicate;
 * - otherwise the email is rendered from its outbox event and sent with the row's Message-ID
 *   (the same on every attempt, so receivers can deduplicate), and the outcome is recorded on
 *   the row (with the subject sent), in the transaction that holds it:
 *   - accepted → sent;
 *   - an event the template cannot render (or that is gone) → failed, without an attempt
 *     counted (retrying cannot help: a committed event never changes);
 *   - rejected by the server (5xx) → failed;
 *   - a temporary failure (4xx, connection lost, timeout) → attempt counted and next attempt
 *     due within `retryInMs`, or failed when no attempt is left.
 */
export class SendEmail {
  constructor(
    private readonly store: EmailStore,
    private readonly mailer: Mailer,
    private readonly options: SendEmailOptions = {},
  ) {}

  async execute(input: SendEmailInput): Promise<SendEmailOutput> {
    const { emailId, retryInMs } = input;
    const claim = await this.store.withPendingEmail(emailId, async (email, record): Promise<SendEmailOutput> => {
      const claimed: Claimed = { eventId: email.eventId, template: email.template };
      let rendered: RenderedEmail;
      try {
        if (!isEmailTemplateName(email.template)) throw new EmailRenderError(email.template, 'unknown template');
        if (!email.event) throw new EmailRenderError(email.template, `outbox event ${email.eventId} not found`);
        rendered = renderEmail(email.template, email.event.payload, { recipientName: email.recipientName, brand: this.options.brand });
      } catch (error) {
        if (!(error instanceof EmailRenderError)) throw error;
        const reason = `render_failed: ${error.message}`;
        await record.failed(reason, null);
        return { outcome: 'unrenderable', reason, ...claimed };
      }

      const { status, response } = await this.mailer.send({ emailId, messageId: email.messageId, to: email.toAddress, ...rendered });
      switch (status) {
        case 'accepted':
          await record.sent(response, rendered.subject);
          return { outcome: 'sent', response, ...claimed };
        case 'rejected':
          await record.failed(response, rendered.subject);
          return { outcome: 'rejected', response, ...claimed };
        case 'temporary':
          if (retryInMs === null) {
            await record.failed(response, rendered.subject);
            return { outcome: 'failed', response, ...claimed };
          }
          await record.retry(response, retryInMs, rendered.subject);
          return { outcome: 'retry', response, retryInMs, ...claimed };
      }
    });
    return claim.claimed ? claim.value : { outcome: 'skipped', reason: claim.reason };
  }
}
