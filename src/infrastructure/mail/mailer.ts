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

export interface SentEmail {
  /** What the server answered (e.g. "250 2.0.0 Ok: queued as 4F2A"), recorded on the row. */
  response: string;
}

/**
 * Sends one email. Rejects with the transport's error when the message was not accepted;
 * `classifySendError` tells a temporary failure (retry) from a permanent one.
 */
export interface Mailer {
  send(email: OutgoingEmail): Promise<SentEmail>;
  /** Closes pooled connections; in-flight sends finish first. */
  close(): Promise<void>;
}
