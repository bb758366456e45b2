import type { Clock } from '../clock.js';
import { WebhookDeliveryInProgressError, WebhookDeliveryNotFoundError, WebhookEndpointDisabledError } from './errors.js';
import type { WebhookDeliveryQueue, WebhookDeliveryRepository, WebhookEndpointRepository } from './ports.js';

/**
 * Sends a delivery again, whatever its status (a failed one after its schedule ran out, or a
 * delivered one the receiver lost).
 * - the delivery must exist and its endpoint must not be deleted (`webhook_delivery_not_found`);
 * - the endpoint must be enabled (`webhook_endpoint_disabled`: it answered 410 Gone);
 * - no attempt of it may be running (`webhook_delivery_in_progress`): that attempt would
 *   settle the row after the reset and could mark it failed as its last;
 * - the delivery becomes pending, due now, and a fresh job (jobId = delivery id) replaces any
 *   previous one, so the retry schedule starts over; earlier attempts stay in the log and the
 *   `webhook-id` stays the same, so the receiver can still deduplicate.
 */
export class ReplayWebhookDelivery {
  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly endpoints: WebhookEndpointRepository,
    private readonly queue: WebhookDeliveryQueue,
    private readonly clock: Clock,
  ) {}

  async execute(deliveryId: string): Promise<void> {
    const delivery = await this.deliveries.findDelivery(deliveryId);
    const endpoint = delivery && (await this.endpoints.findById(delivery.endpointId));
    if (!delivery || !endpoint) throw new WebhookDeliveryNotFoundError(deliveryId);
    if (!endpoint.enabled) throw new WebhookEndpointDisabledError(endpoint.id, endpoint.disabledReason);
    if (await this.queue.isInFlight(deliveryId)) throw new WebhookDeliveryInProgressError(deliveryId);
    // Row first, then the job: if enqueueing fails, the row is pending and the sweeper
    // re-enqueues it; the other order could run a job that finds the row not pending.
    await this.deliveries.resetForReplay(deliveryId, this.clock.now());
    await this.queue.enqueue(deliveryId);
  }
}
