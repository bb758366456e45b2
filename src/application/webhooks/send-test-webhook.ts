import type { Clock } from '../clock.js';
import { WebhookEndpointDisabledError, WebhookEndpointNotFoundError } from './errors.js';
import { TEST_EVENT_TYPE } from './event-types.js';
import type { WebhookDeliveryQueue, WebhookDeliveryRepository, WebhookEndpointRepository } from './ports.js';

/** An event as the webhook body is built from it (the relay builds its bodies the same way). */
export interface WebhookBodyEvent {
  id: string;
  type: string;
  occurredAt: Date;
  payload: Readonly<Record<string, unknown>>;
}

export interface SentTestWebhook {
  deliveryId: string;
  eventId: string;
}

/**
 * Sends a `webhook.test` event to one endpoint, so its owner can check the URL and the
 * signature without waiting for business events.
 * - the endpoint must exist and not be deleted (`webhook_endpoint_not_found`), and be enabled
 *   (`webhook_endpoint_disabled`: the delivery would fail unsent);
 * - it goes to that endpoint only, whatever event types it subscribed to;
 * - it is a delivery like the others: a row listed with the endpoint's deliveries, signed,
 *   retried on the schedule, replayable; its body is
 *   `{"type":"webhook.test","timestamp":…,"data":{"endpointId":…,"eventId":…}}`.
 * The row is written before the job is added: if adding fails, the sweeper adds it.
 */
export class SendTestWebhook {
  constructor(
    private readonly endpoints: WebhookEndpointRepository,
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly queue: WebhookDeliveryQueue,
    private readonly buildBody: (event: WebhookBodyEvent) => string,
    private readonly newId: () => string,
    private readonly clock: Clock,
  ) {}

  async execute(endpointId: string): Promise<SentTestWebhook> {
    const endpoint = await this.endpoints.findById(endpointId);
    if (!endpoint) throw new WebhookEndpointNotFoundError(endpointId);
    if (!endpoint.enabled) throw new WebhookEndpointDisabledError(endpoint.id, endpoint.disabledReason);
    const now = this.clock.now();
    const eventId = this.newId();
    const deliveryId = this.newId();
    await this.deliveries.addDelivery({
      id: deliveryId,
      endpointId: endpoint.id,
      eventId,
      eventType: TEST_EVENT_TYPE,
      body: this.buildBody({ id: eventId, type: TEST_EVENT_TYPE, occurredAt: now, payload: { endpointId: endpoint.id } }),
      createdAt: now,
    });
    await this.queue.enqueue(deliveryId);
    return { deliveryId, eventId };
  }
}
