// Ports of the email use cases. Adapters: NodemailerMailer and SqlEmailMessageStore
// (src/infrastructure/mail).

/** One rendered email, addressed and identified. */
export interface OutgoingEmail {
  /** The email_messages row id; names the captured .eml file in development. */
  emailId: string;
  /** RFC 5322 Message-ID with angle brackets, the same on every attempt so receivers can deduplicate. */
  messageId: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * What became of one message:
 *  - `accepted`: the server took it;
 *  - `temporary`: not taken, but the same message may be later (a 4xx reply, a lost
 *    connection, a timeout, our own credentials or TLS set-up): retry;
 *  - `rejected`: not taken and it never will be (a 5xx reply, no usable recipient).
 */
export interface SendResult {
  status: 'accepted' | 'temporary' | 'rejected';
  /**
   * What the server answered ("250 2.0.0 Ok: queued as 4F2A", "550 5.1.1 no such user"), or
   * the error when there was no answer; recorded on the row.
   */
  response: string;
}

/** Sends one email. Never rejects for a message that was not accepted: the result says how. */
export interface Mailer {
  send(email: OutgoingEmail): Promise<SendResult>;
  /** Closes pooled connections; in-flight sends finish first. */
  close(): Promise<void>;
}

/** A pending email, locked for its sender, with the event it is rendered from. */
export interface ClaimedEmail {
  id: string;
  eventId: string;
  template: string;
  toAddress: string;
  messageId: string;
  /** Attempts made before this one. */
  attempts: number;
  /** The outbox event; null when that row is gone. */
  event: { type: string; payload: unknown } | null;
  /** Name of the user the event concerns, for the greeting; null when unknown. */
  recipientName: string | null;
}

/**
 * Records the outcome of the attempt on the claimed row, in the claiming transaction, with the
 * subject of the message attempted (what an operator sees in the email listing). One outcome
 * per attempt: recording it is the transaction's last step (the SQL store commits with it).
 */
export interface EmailOutcomeRecorder {
  /** Accepted by the server: status sent, attempt counted. */
  sent(response: string, subject: string): Promise<void>;
  /** Will be tried again: attempt counted, next_attempt_at = now + `retryInMs`. */
  retry(response: string, retryInMs: number, subject: string): Promise<void>;
  /**
   * Given up for good. `subject` is null when nothing was sent (the email could not be
   * rendered): no attempt is counted then.
   */
  failed(response: string, subject: string | null): Promise<void>;
}

/** Why no attempt was made. */
export type SkipReason = 'missing' | 'sent' | 'failed' | 'locked';

export type ClaimResult<T> = { claimed: true; value: T } | { claimed: false; reason: SkipReason };

/** What `EmailStore.reopen` found: the email was reopened, is still pending, or does not exist. */
export type ReopenResult = 'reopened' | 'pending' | 'missing';

/** The email_messages rows: one per email the relay decided to send. */
export interface EmailStore {
  /**
   * Runs `attempt` on the email if it is still pending and no other worker holds it, inside a
   * transaction that keeps the row locked until the outcome is recorded; otherwise says why
   * not, without calling it.
   */
  withPendingEmail<T>(
    emailId: string,
    attempt: (email: ClaimedEmail, record: EmailOutcomeRecorder) => Promise<T>,
  ): Promise<ClaimResult<T>>;
  /**
   * Makes a sent or failed email pending again, due now (for a resend), in one statement; its
   * Message-ID, attempt count and last answer stay. A pending email is left as it is.
   */
  reopen(emailId: string): Promise<ReopenResult>;
}

/** Puts an email (back) on the `emails` queue, replacing a finished job of the same id. */
export interface EmailQueue {
  enqueue(emailId: string): Promise<void>;
}

export const EMAIL_STATUSES = ['pending', 'sent', 'failed'] as const;
export type EmailStatus = (typeof EMAIL_STATUSES)[number];

/** Where a page of the email listing ends: the sort key of its last row. */
export interface EmailLogPosition {
  createdAt: Date;
  id: string;
}

export interface EmailLogFilter {
  status?: EmailStatus | undefined;
  /** The recipient's address, exactly (addresses are stored trimmed and in lower case). */
  to?: string | undefined;
  /** Created at or after this time. */
  since?: Date | undefined;
}

/**
 * One email as an operator sees it: who it went to, what it was and how its sending went. No
 * body: it is rendered at send time and never stored.
 */
export interface EmailLogEntry {
  id: string;
  /** The outbox event it was sent for. */
  eventId: string;
  /** RFC 5322 Message-ID, with angle brackets: the same on every attempt and every resend. */
  messageId: string;
  template: string;
  to: string;
  /** The subject of the last attempt; null until one was made. */
  subject: string | null;
  status: EmailStatus;
  /** Attempts made, resends included. */
  attempts: number;
  /** The SMTP server's last answer, or the error of the last attempt. */
  lastResponse: string | null;
  createdAt: Date;
  sentAt: Date | null;
  /** When it became sent or failed; null while pending. */
  finishedAt: Date | null;
  /** When a pending email's next attempt is due, at the latest; null unless retrying. */
  nextAttemptAt: Date | null;
}

/** The email_messages rows as the operator's listing reads them (the read side). */
export interface EmailLog {
  /**
   * Emails matching `filter`, newest first by (created_at, id), strictly after `after` in
   * that order, at most `limit`.
   */
  list(filter: EmailLogFilter, after: EmailLogPosition | null, limit: number): Promise<EmailLogEntry[]>;
}
