import { DomainError } from '../../domain/index.js';

// Errors of the email use cases an operator calls. Like domain errors they carry a stable
// `code` and no HTTP status: the API maps them (email_not_found → 404, email_pending → 409).

export class EmailNotFoundError extends DomainError {
  readonly code = 'email_not_found';

  constructor(id: string) {
    super(`email ${id} does not exist`);
  }
}

/** A resend of an email that has not been sent or failed yet: it is still going out on its own. */
export class EmailPendingError extends DomainError {
  readonly code = 'email_pending';

  constructor(id: string) {
    super(`email ${id} is still pending: it is being sent or waits for its next attempt, so it goes out without a resend`);
  }
}
