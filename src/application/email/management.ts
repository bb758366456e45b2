import type { ListEmails } from './list-emails.js';
import type { ResendEmail } from './resend-email.js';

/**
 * The email use cases an operator calls through the HTTP routes; src/main builds the real
 * ones. Each is only its `execute`, so a test can stand in for any of them. They throw the
 * errors of ./errors.ts, which the HTTP error handler maps.
 */
export interface EmailManagement {
  /** A page of the emails, newest first, without bodies. */
  listEmails: Pick<ListEmails, 'execute'>;
  /** Sends a sent or failed email again with the same Message-ID. */
  resendEmail: Pick<ResendEmail, 'execute'>;
}
