// Ports of the webhook use cases. Adapters: PostgresWebhookRepository (both repositories),
// UndiciWebhookSender, SsrfUrlGuard, BullMqWebhookQueue (src/infrastructure/webhooks).

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookEndpoint {
  id: string;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  /** Why the endpoint was disabled (410 Gone, WEBHOOK_DISABLE_AFTER, an operator), or null while enabled. */
  disabledReason: string | null;
  /** When it was disabled, or null while enabled. */
  disabledAt: Date | null;
  /**
   * When the first of the attempts that have failed since its last successful one was made;
   * null when the last attempt succeeded (or none was made). The WEBHOOK_DISABLE_AFTER clock.
   */
  failingSince: Date | null;
  /** Until when deliveries are signed with the secret before the last rotation too; null if never rotated. */
  previousSecretExpiresAt: Date | null;
  /** Deliveries per second at most, its own; null: the default (WEBHOOK_DELIVERY_RATE). */
  deliveryRate: number | null;
  createdAt: Date;
  deletedAt: Date | null;
}

/**
 * The secrets an endpoint's deliveries are signed with: its current one and, after a rotation,
 * the previous one until it expires. Only the repository reads and writes secrets.
 */
export interface SigningSecrets {
  current: string;
  previous: { secret: string; expiresAt: Date } | null;
}

/**
 * The endpoint's secrets are stored but cannot be read (encrypted under a key the process
 * does not hold, or altered): `reason` says which and what to do. Nothing can be signed.
 */
export interface UnreadableSigningSecrets {
  unreadable: string;
}

/**
 * What an update changes; fields left out stay as they are. `enable` clears the disable reason
 * and time and the failing streak (so WEBHOOK_DISABLE_AFTER counts afresh); `disable` keeps the
 * reason of an endpoint that is disabled already.
 */
export interface WebhookEndpointChanges {
  url?: string | undefined;
  eventTypes?: string[] | undefined;
  enable?: boolean | undefined;
  disable?: { reason: string } | undefined;
  /** A rate of its own (deliveries per second), or null for the default again. */
  deliveryRate?: number | null | undefined;
}

export interface NewWebhookEndpoint {
  id: string;
  /** The URL as parsed (WHATWG normalisation: lower-case host, default port dropped). */
  url: string;
  eventTypes: string[];
  /** `whsec_…`, in plain text: the repository encrypts it at rest. */
  secret: string;
  /** Null: the default rate. */
  deliveryRate: number | null;
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
  /** Applies the changes in one statement; the endpoint as it is then, or null when unknown or deleted. */
  update(id: string, changes: WebhookEndpointChanges, at: Date): Promise<WebhookEndpoint | null>;
  /**
   * Makes `secret` the endpoint's secret and keeps the one it replaces as the previous secret
   * until `previousExpiresAt` (a secret kept from an earlier rotation is dropped). False when
   * the endpoint is unknown or deleted.
   */
  rotateSecret(id: string, secret: string, previousExpiresAt: Date): Promise<boolean>;
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
  endpoint: (WebhookEndpoint & { secrets: SigningSecrets | UnreadableSigningSecrets }) | null;
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
  /**
   * The delivery's endpoint, whose failing streak the attempt ends (2xx: `succeeded`) or
   * starts (the first failure after a success sets `failingSince`), in the same statement.
   * Null when nothing was sent (the secrets could not be read): the attempt says nothing
   * about the receiver, so its streak is left as it is.
   */
  endpoint: { id: string; succeeded: boolean } | null;
  /**
   * Disables the endpoint in the same statement (an endpoint disabled already keeps its
   * reason): on 410 Gone, or by WEBHOOK_DISABLE_AFTER, when only if its failing streak, as
   * the statement finds it, began at or before `ifFailingSinceBy` (a success recorded
   * meanwhile ended it).
   */
  disableEndpoint?: { reason: string; at: Date; ifFailingSinceBy?: Date };
}

/** A delivery made outside the relay (a test event): the row the relay would write. */
export interface NewWebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  body: string;
  createdAt: Date;
}

/** Which deliveries of an endpoint a bulk replay takes. */
export interface ReplayFilter {
  endpointId: string;
  status: Exclude<WebhookDeliveryStatus, 'pending'>;
  /** Deliveries created at or after this moment. */
  since: Date;
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
  /**
   * Leaves a pending delivery unsent for now (its endpoint's rate is used up): no attempt is
   * logged or counted; the claim of `attemptId` is released and the next attempt is due at
   * `nextAttemptAt`.
   */
  postponeAttempt(deliveryId: string, attemptId: string, nextAttemptAt: Date): Promise<void>;
  /** Null when the delivery is unknown. */
  findDelivery(deliveryId: string): Promise<{ id: string; endpointId: string; status: WebhookDeliveryStatus } | null>;
  /**
   * Sets the delivery pending again, due now, unless an attempt that started at or after
   * `claimsSince` holds it: one statement, so no attempt can claim it between the check and
   * the reset. False when it was not reset (an attempt holds it).
   */
  resetForReplay(deliveryId: string, now: Date, claimsSince: Date): Promise<boolean>;
  /**
   * The bulk `resetForReplay`: in one statement, sets every delivery matching `filter` pending
   * again, due now, except those an attempt that started at or after `claimsSince` holds.
   * Answers the ids it reset; a delivery it reset is pending and no longer matches, so a
   * second call (or a concurrent one) does not reset it again.
   */
  resetManyForReplay(filter: ReplayFilter, now: Date, claimsSince: Date): Promise<string[]>;
  /** Inserts a pending delivery. */
  addDelivery(delivery: NewWebhookDelivery): Promise<void>;
}

export interface WebhookRequest {
  url: string;
  /**
   * The `whsec_…` secrets to sign with, the current one first: each gives one `v1,…` entry of
   * the `webhook-signature` header (two during a rotation's overlap).
   */
  secrets: readonly string[];
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
  /** `enqueue` for many deliveries, in batches. */
  enqueueMany(deliveryIds: readonly string[]): Promise<void>;
  /** Whether an attempt of this delivery is being made right now. */
  isInFlight(deliveryId: string): Promise<boolean>;
  /**
   * Wakes the deliveries of an endpoint that wait for a slot of its delivery rate, so that
   * they take their places again at its new rate (else they would keep the times the old
   * rate gave them).
   */
  wakeWaitingForRate(endpointId: string): Promise<void>;
}

/**
 * Spaces the attempts to each endpoint to its delivery rate, across every webhooks process:
 * at most `perSecond` on average, with a burst of a tenth of a second's worth (at least 2).
 */
export interface DeliveryRateLimiter {
  /**
   * 0: the delivery may be sent now (it used its slot). Otherwise the endpoint has had its
   * share: a later slot is reserved for the delivery, and this is how long (ms) it must wait
   * for it, unsent. Deliveries that find others waiting go behind them; `waited` says the
   * delivery has waited for a slot before, so it does not queue again behind those.
   */
  acquire(request: { endpointId: string; deliveryId: string; perSecond: number; waited: boolean }): Promise<number>;
}
