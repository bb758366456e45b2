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

/** Records the outcome of the attempt on the claimed row, in the claiming transaction. */
export interface EmailOutcomeRecorder {
  /** Accepted by the server: status sent, attempt counted. */
  sent(response: string): Promise<void>;
  /** Will be tried again: attempt counted, next_attempt_at = now + `retryInMs`. */
  retry(response: string, retryInMs: number): Promise<void>;
  /** Given up for good. `attempted` is false when nothing was sent (the email could not be rendered). */
  failed(response: string, attempted: boolean): Promise<void>;
}

/** Why no attempt was made. */
export type SkipReason = 'missing' | 'sent' | 'failed' | 'locked';

export type ClaimResult<T> = { claimed: true; value: T } | { claimed: false; reason: SkipReason };

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
}
