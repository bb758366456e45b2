// Ports of the webhook use cases. Adapters: PostgresWebhookRepository (both repositories),
// UndiciWebhookSender, SsrfUrlGuard, BullMqWebhookQueue (src/infrastructure/webhooks).

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookEndpoint {
  id: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  /** Why the endpoint was disabled (it answered 410 Gone), or null. */
  disabledReason: string | null;
  createdAt: Date;
  deletedAt: Date | null;
}

export interface NewWebhookEndpoint {
  id: string;
  url: string;
  eventTypes: string[];
  secret: string;
  createdAt: Date;
}

export interface WebhookAttempt {
  attemptedAt: Date;
  /** Null when no HTTP response came back (refused, timed out, blocked by the SSRF guard). */
  statusCode: number | null;
  durationMs: number;
  error: string | null;
}

export interface WebhookDeliveryView {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  /** When the next retry is due; null unless the delivery is pending. */
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  /** Every attempt, oldest first. */
  attemptLog: WebhookAttempt[];
}

export interface WebhookEndpointRepository {
  add(endpoint: NewWebhookEndpoint): Promise<void>;
  /** Endpoints not deleted, oldest first. */
  list(): Promise<WebhookEndpoint[]>;
  /** Null when unknown or deleted. */
  findById(id: string): Promise<WebhookEndpoint | null>;
  /** Marks the endpoint deleted; false when it was unknown or already deleted. */
  softDelete(id: string, at: Date): Promise<boolean>;
  /** Deliveries of an endpoint with their attempts, newest first. */
  listDeliveries(
    endpointId: string,
    filter: { status?: WebhookDeliveryStatus | undefined; limit: number },
  ): Promise<WebhookDeliveryView[]>;
}

/** What a delivery job needs: the delivery row, the endpoint it goes to, and its claim. */
export interface DeliveryToSend {
  delivery: {
    id: string;
    endpointId: string;
    eventId: string;
    eventType: string;
    /** The exact JSON body fixed at creation; every attempt signs and sends these bytes. */
    body: string;
    status: WebhookDeliveryStatus;
    attempts: number;
  };
  /** Null when the endpoint row is gone altogether. */
  endpoint: (WebhookEndpoint & { secret: string }) | null;
  /**
   * The id of the attempt this job now holds the delivery for (it becomes the attempt's id
   * in the log); null when the delivery was not pending, so there is nothing to send.
   */
  attemptId: string | null;
}

export interface AttemptOutcome {
  deliveryId: string;
  /** From `claimForSending`: the attempt's id, and the claim this outcome releases. */
  attemptId: string;
  attempt: WebhookAttempt;
  status: WebhookDeliveryStatus;
  nextAttemptAt: Date | null;
  deliveredAt: Date | null;
  /** Set when the receiver answered 410 Gone: the endpoint is disabled in the same transaction. */
  disableEndpoint?: { endpointId: string; reason: string };
}

export interface WebhookDeliveryRepository {
  /**
   * Reads the delivery and its endpoint and, in the same statement, marks a pending delivery
   * as being attempted (a new attempt id, started at `startedAt`), so that a replay cannot
   * reset it under the attempt. Null when the delivery is unknown.
   */
  claimForSending(deliveryId: string, startedAt: Date): Promise<DeliveryToSend | null>;
  /**
   * Stores an attempt, counts it, and sets the delivery's new state, in one transaction (plus
   * the endpoint's disabling, if asked). When the delivery is no longer pending (a concurrent
   * duplicate job settled it first), the attempt is still logged and counted but the state is
   * left as that job set it, and the result is false. Either way the attempt's claim is
   * released (unless another attempt has claimed the delivery since).
   */
  recordAttempt(outcome: AttemptOutcome): Promise<boolean>;
  /**
   * Fails a pending delivery without an attempt (its endpoint is disabled or deleted), and
   * releases the claim of `attemptId`.
   */
  failWithoutAttempt(deliveryId: string, attemptId: string, reason: string): Promise<void>;
  /** Null when the delivery is unknown. */
  findDelivery(deliveryId: string): Promise<{ id: string; endpointId: string; status: WebhookDeliveryStatus } | null>;
  /**
   * Sets the delivery pending again, due now, unless an attempt that started at or after
   * `claimsSince` holds it: one statement, so no attempt can claim it between the check and
   * the reset. False when it was not reset (an attempt holds it).
   */
  resetForReplay(deliveryId: string, now: Date, claimsSince: Date): Promise<boolean>;
}

export interface WebhookRequest {
  url: string;
  /** `whsec_…` signing secret of the endpoint. */
  secret: string;
  /** The `webhook-id` header. */
  deliveryId: string;
  /** The `webhook-timestamp` header (signed with the body). */
  timestamp: Date;
  body: string;
}

export interface WebhookResponse {
  /** The HTTP status, or null when no response came back. */
  statusCode: number | null;
  durationMs: number;
  /** Why the attempt failed (network error, timeout, non-2xx answer), null on 2xx. */
  error: string | null;
}

/** Signs (Standard Webhooks) and POSTs one delivery attempt. Never throws for a failed attempt. */
export interface WebhookSender {
  send(request: WebhookRequest): Promise<WebhookResponse>;
}

/** The SSRF guard at registration: the reason a URL may not be used, or null if it may. */
export interface WebhookUrlGuard {
  refusalFor(url: string): Promise<string | null>;
}

/** Puts a delivery (back) on the `webhooks` queue, replacing a finished job with the same id. */
export interface WebhookDeliveryQueue {
  enqueue(deliveryId: string): Promise<void>;
  /** Whether an attempt of this delivery is being made right now. */
  isInFlight(deliveryId: string): Promise<boolean>;
}
