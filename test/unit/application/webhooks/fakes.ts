import type {
  AttemptOutcome,
  DeliveryRateLimiter,
  DeliveryToSend,
  NewWebhookDelivery,
  NewWebhookEndpoint,
  ReplayFilter,
  SigningSecrets,
  UnreadableSigningSecrets,
  WebhookAttempt,
  WebhookDeliveryQueue,
  WebhookDeliveryRepository,
  WebhookDeliveryStatus,
  WebhookDeliveryView,
  WebhookEndpoint,
  WebhookEndpointChanges,
  WebhookEndpointRepository,
  WebhookRequest,
  WebhookResponse,
  WebhookSender,
} from '../../../../src/application/webhooks/ports.js';

/** `unreadable`: as the repository reports secrets it cannot decrypt. */
type StoredEndpoint = WebhookEndpoint & { secrets: SigningSecrets | UnreadableSigningSecrets };
type StoredDelivery = Omit<WebhookDeliveryView, 'attemptLog'> & {
  body: string;
  /** The claim of the attempt being made, as in the attempt_id / attempt_started_at columns. */
  claim?: { attemptId: string; startedAt: Date } | null;
};

/** Both repositories in memory, with the semantics of PostgresWebhookRepository. */
export class InMemoryWebhooks implements WebhookEndpointRepository, WebhookDeliveryRepository {
  readonly endpoints = new Map<string, StoredEndpoint>();
  readonly deliveries = new Map<string, StoredDelivery>();
  readonly attempts = new Map<string, WebhookAttempt[]>();
  private claims = 0;

  async add({ secret, ...endpoint }: NewWebhookEndpoint): Promise<void> {
    this.endpoints.set(endpoint.id, {
      ...endpoint,
      secrets: { current: secret, previous: null },
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      failingSince: null,
      previousSecretExpiresAt: null,
      deletedAt: null,
    });
  }

  async list(): Promise<WebhookEndpoint[]> {
    return [...this.endpoints.values()].filter((e) => e.deletedAt === null).map(({ secrets: _secrets, ...e }) => e);
  }

  async findById(id: string): Promise<WebhookEndpoint | null> {
    const endpoint = this.endpoints.get(id);
    if (!endpoint || endpoint.deletedAt) return null;
    const { secrets: _secrets, ...rest } = endpoint;
    return rest;
  }

  async update(id: string, changes: WebhookEndpointChanges, at: Date): Promise<WebhookEndpoint | null> {
    const endpoint = this.endpoints.get(id);
    if (!endpoint || endpoint.deletedAt) return null;
    if (changes.url !== undefined) endpoint.url = changes.url;
    if (changes.eventTypes !== undefined) endpoint.eventTypes = changes.eventTypes;
    if (changes.deliveryRate !== undefined) endpoint.deliveryRate = changes.deliveryRate;
    if (changes.enable && !endpoint.enabled) {
      Object.assign(endpoint, { enabled: true, disabledReason: null, disabledAt: null, failingSince: null });
    } else if (changes.disable && endpoint.enabled) {
      Object.assign(endpoint, { enabled: false, disabledReason: changes.disable.reason, disabledAt: at });
    }
    return this.findById(id);
  }

  async rotateSecret(id: string, secret: string, previousExpiresAt: Date): Promise<boolean> {
    const endpoint = this.endpoints.get(id);
    if (!endpoint || endpoint.deletedAt) return false;
    // A current secret that cannot be read is dropped, as the repository does.
    const { secrets } = endpoint;
    const readable = !('unreadable' in secrets);
    endpoint.secrets = { current: secret, previous: readable ? { secret: secrets.current, expiresAt: previousExpiresAt } : null };
    endpoint.previousSecretExpiresAt = readable ? previousExpiresAt : null;
    return true;
  }

  async softDelete(id: string, at: Date): Promise<boolean> {
    const endpoint = this.endpoints.get(id);
    if (!endpoint || endpoint.deletedAt) return false;
    endpoint.deletedAt = at;
    return true;
  }

  async listDeliveries(endpointId: string, filter: { status?: WebhookDeliveryStatus; limit: number }): Promise<WebhookDeliveryView[]> {
    return [...this.deliveries.values()]
      .filter((d) => d.endpointId === endpointId && (!filter.status || d.status === filter.status))
      .slice(0, filter.limit)
      .map(({ body: _body, ...d }) => ({ ...d, attemptLog: this.attempts.get(d.id) ?? [] }));
  }

  /** Puts a delivery in the store as a test sets it up; what is left out takes a default. */
  seedDelivery(delivery: Partial<StoredDelivery> & { id: string; endpointId: string }): StoredDelivery {
    const stored: StoredDelivery = {
      eventId: `event-of-${delivery.id}`,
      eventType: 'order.placed',
      body: '{"type":"order.placed"}',
      status: 'pending',
      attempts: 0,
      nextAttemptAt: null,
      lastStatusCode: null,
      lastError: null,
      createdAt: new Date(0),
      deliveredAt: null,
      ...delivery,
    };
    this.deliveries.set(stored.id, stored);
    return stored;
  }

  async claimForSending(deliveryId: string, startedAt: Date): Promise<DeliveryToSend | null> {
    const d = this.deliveries.get(deliveryId);
    if (!d) return null;
    let attemptId: string | null = null;
    if (d.status === 'pending') {
      attemptId = `attempt-${++this.claims}`;
      d.claim = { attemptId, startedAt };
    }
    return {
      delivery: { id: d.id, endpointId: d.endpointId, eventId: d.eventId, eventType: d.eventType, body: d.body, status: d.status, attempts: d.attempts },
      endpoint: this.endpoints.get(d.endpointId) ?? null,
      attemptId,
    };
  }

  private release(d: StoredDelivery, attemptId: string): void {
    if (d.claim?.attemptId === attemptId) d.claim = null;
  }

  async recordAttempt(outcome: AttemptOutcome): Promise<boolean> {
    const d = this.deliveries.get(outcome.deliveryId);
    if (!d) throw new Error('no such delivery');
    this.attempts.set(d.id, [...(this.attempts.get(d.id) ?? []), outcome.attempt]);
    d.attempts += 1;
    this.release(d, outcome.attemptId);
    const endpoint = outcome.endpoint && this.endpoints.get(outcome.endpoint.id);
    if (outcome.endpoint && endpoint) {
      const disable = outcome.disableEndpoint;
      const by = disable?.ifFailingSinceBy;
      if (disable && endpoint.enabled && (!by || (endpoint.failingSince !== null && endpoint.failingSince <= by))) {
        Object.assign(endpoint, { enabled: false, disabledReason: disable.reason, disabledAt: disable.at });
      }
      endpoint.failingSince = outcome.endpoint.succeeded ? null : (endpoint.failingSince ?? outcome.attempt.attemptedAt);
    }
    if (d.status !== 'pending') return false;
    Object.assign(d, {
      status: outcome.status,
      nextAttemptAt: outcome.nextAttemptAt,
      lastStatusCode: outcome.attempt.statusCode,
      lastError: outcome.attempt.error,
      deliveredAt: outcome.deliveredAt ?? d.deliveredAt,
    });
    return true;
  }

  async failWithoutAttempt(deliveryId: string, attemptId: string, reason: string): Promise<void> {
    const d = this.deliveries.get(deliveryId);
    if (d) this.release(d, attemptId);
    if (d?.status === 'pending') Object.assign(d, { status: 'failed', lastError: reason, nextAttemptAt: null });
  }

  async postponeAttempt(deliveryId: string, attemptId: string, nextAttemptAt: Date): Promise<void> {
    const d = this.deliveries.get(deliveryId);
    if (d) this.release(d, attemptId);
    if (d?.status === 'pending') d.nextAttemptAt = nextAttemptAt;
  }

  async findDelivery(deliveryId: string) {
    const d = this.deliveries.get(deliveryId);
    return d ? { id: d.id, endpointId: d.endpointId, status: d.status } : null;
  }

  async resetForReplay(deliveryId: string, now: Date, claimsSince: Date): Promise<boolean> {
    const d = this.deliveries.get(deliveryId);
    if (!d || (d.claim && d.claim.startedAt >= claimsSince)) return false;
    Object.assign(d, { status: 'pending', nextAttemptAt: now, deliveredAt: null, claim: null });
    return true;
  }

  async resetManyForReplay(filter: ReplayFilter, now: Date, claimsSince: Date): Promise<string[]> {
    const matching = [...this.deliveries.values()].filter(
      (d) =>
        d.endpointId === filter.endpointId &&
        d.status === filter.status &&
        d.createdAt >= filter.since &&
        !(d.claim && d.claim.startedAt >= claimsSince),
    );
    for (const d of matching) Object.assign(d, { status: 'pending', nextAttemptAt: now, deliveredAt: null, claim: null });
    return matching.map((d) => d.id);
  }

  async addDelivery(delivery: NewWebhookDelivery): Promise<void> {
    this.seedDelivery({ ...delivery, status: 'pending' });
  }
}

/** Answers with the scripted responses in turn and records every request. */
export class ScriptedSender implements WebhookSender {
  readonly requests: WebhookRequest[] = [];

  constructor(private readonly responses: WebhookResponse[]) {}

  async send(request: WebhookRequest): Promise<WebhookResponse> {
    this.requests.push(request);
    const response = this.responses.shift();
    if (!response) throw new Error('no scripted response left');
    return response;
  }
}

export class RecordingQueue implements WebhookDeliveryQueue {
  readonly enqueued: string[] = [];
  readonly inFlight = new Set<string>();

  async isInFlight(deliveryId: string): Promise<boolean> {
    return this.inFlight.has(deliveryId);
  }

  async enqueue(deliveryId: string): Promise<void> {
    this.enqueued.push(deliveryId);
  }

  async enqueueMany(deliveryIds: readonly string[]): Promise<void> {
    this.enqueued.push(...deliveryIds);
  }

  readonly woken: string[] = [];

  async wakeWaitingForRate(endpointId: string): Promise<void> {
    this.woken.push(endpointId);
  }
}

type RateRequest = Parameters<DeliveryRateLimiter['acquire']>[0];

/** Answers the scripted waits in turn (0, send now, once they run out) and records every request. */
export class ScriptedRateLimiter implements DeliveryRateLimiter {
  readonly requests: RateRequest[] = [];

  constructor(private readonly waits: number[] = []) {}

  async acquire(request: RateRequest): Promise<number> {
    this.requests.push(request);
    return this.waits.shift() ?? 0;
  }
}

/** Pacing that never holds a delivery back, for the tests about something else. */
export const unlimited = (defaultRate = 100) => ({ limiter: new ScriptedRateLimiter(), defaultRate });

export const fixedClock = (iso = '2026-03-01T12:00:00.000Z') => ({ now: () => new Date(iso) });
