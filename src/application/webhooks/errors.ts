import { DomainError } from '../../domain/index.js';

// Errors of the webhook use cases. Like domain errors they carry a stable `code` and no HTTP
// status (the API maps them: *_not_found → 404, the others → 400/409), and they mean "this
// request can never succeed as sent".

export class WebhookEndpointNotFoundError extends DomainError {
  readonly code = 'webhook_endpoint_not_found';

  constructor(id: string) {
    super(`webhook endpoint ${id} does not exist`);
  }
}

export class WebhookDeliveryNotFoundError extends DomainError {
  readonly code = 'webhook_delivery_not_found';

  constructor(id: string) {
    super(`webhook delivery ${id} does not exist`);
  }
}

/** The URL is not an absolute http(s) URL without credentials. */
export class InvalidWebhookUrlError extends DomainError {
  readonly code = 'invalid_webhook_url';
}

/** The URL is well-formed but points at an address webhooks may not reach (SSRF guard). */
export class WebhookUrlNotAllowedError extends DomainError {
  readonly code = 'webhook_url_not_allowed';
}

export class InvalidEventTypesError extends DomainError {
  readonly code = 'invalid_event_types';
}

/** A delivery of a disabled endpoint (it answered 410 Gone) cannot be replayed. */
export class WebhookEndpointDisabledError extends DomainError {
  readonly code = 'webhook_endpoint_disabled';

  constructor(id: string, reason: string | null) {
    super(`webhook endpoint ${id} is disabled${reason ? `: ${reason}` : ''}`);
  }
}

/** An attempt of this delivery is running right now; a replay would race it. */
export class WebhookDeliveryInProgressError extends DomainError {
  readonly code = 'webhook_delivery_in_progress';

  constructor(id: string) {
    super(`webhook delivery ${id} is being attempted right now; replay it once the attempt has finished`);
  }
}

/** A delivery rate that is not a number of deliveries per second in the allowed range. */
export class InvalidDeliveryRateError extends DomainError {
  readonly code = 'invalid_delivery_rate';
}
