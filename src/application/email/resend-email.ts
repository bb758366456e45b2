import { EmailNotFoundError, EmailPendingError } from './errors.js';
import type { EmailQueue, EmailStore } from './ports.js';

/**
 * Sends a sent or failed email again.
 * - the email must exist (`email_not_found`);
 * - it must not be pending (`email_pending`): a pending email is being sent or waits for its
 *   next attempt, and goes out without a resend;
 * - it becomes pending, due now, and a fresh job (jobId = email id) replaces the finished one.
 *   It is rendered again from its outbox event and sent with the **same** Message-ID, so a
 *   mail client that has the first copy shows one message. Its attempts and last answer stay.
 * Row first, then the job: if enqueueing fails, the row is pending and the sweeper enqueues
 * it; the other order could run a job that finds the row settled and skips it.
 */
export class ResendEmail {
  constructor(
    private readonly store: Pick<EmailStore, 'reopen'>,
    private readonly queue: EmailQueue,
  ) {}

  async execute(emailId: string): Promise<void> {
    const found = await this.store.reopen(emailId);
    if (found === 'missing') throw new EmailNotFoundError(emailId);
    if (found === 'pending') throw new EmailPendingError(emailId);
    await this.queue.enqueue(emailId);
  }
}
