import type {
  AttemptOutcome,
  DeliveryToSend,
  NewWebhookEndpoint,
  WebhookAttempt,
  WebhookDeliveryQueue,
  WebhookDeliveryRepository,
  WebhookDeliveryStatus,
  WebhookDeliveryView,
  WebhookEndpoint,
  WebhookEndpointRepository,
  WebhookRequest,
  WebhookResponse,
  WebhookSender,
} from '../../../../src/application/webhooks/ports.js';

type StoredEndpoint = WebhookEndpoint & { secret: string };
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

  async add(endpoint: NewWebhookEndpoint): Promise<void> {
    this.endpoints.set(endpoint.id, { ...endpoint, enabled: true, disabledReason: null, deletedAt: null });
  }

  async list(): Promise<WebhookEndpoint[]> {
    return [...this.endpoints.values()].filter((e) => e.deletedAt === null).map(({ secret: _secret, ...e }) => e);
  }

  async findById(id: string): Promise<WebhookEndpoint | null> {
    const endpoint = this.endpoints.get(id);
    if (!endpoint || endpoint.deletedAt) return null;
    const { secret: _secret, ...rest } = endpoint;
    return rest;
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

  addDelivery(delivery: Partial<StoredDelivery> & { id: string; endpointId: string }): StoredDelivery {
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
    if (outcome.disableEndpoint) {
      const endpoint = this.endpoints.get(outcome.disableEndpoint.endpointId);
      if (endpoint) Object.assign(endpoint, { enabled: false, disabledReason: outcome.disableEndpoint.reason });
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
}

export const fixedClock = (iso = '2026-03-01T12:00:00.000Z') => ({ now: () => new Date(iso) });
