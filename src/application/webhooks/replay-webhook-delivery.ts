import type { Clock } from '../clock.js';
import { WebhookDeliveryInProgressError, WebhookDeliveryNotFoundError, WebhookEndpointDisabledError } from './errors.js';
import type { WebhookDeliveryQueue, WebhookDeliveryRepository, WebhookEndpointRepository } from './ports.js';

/**
 * How long a claim of a delivery by an attempt holds off a replay: an attempt takes at most
 * the connect, headers and body timeouts of the sender (each ≤ WEBHOOK_TIMEOUT_MS) and two
 * short statements, so an older claim was left by a worker that died mid-attempt.
 */
export function attemptLeaseMs(webhookTimeoutMs: number): number {
  return 3 * webhookTimeoutMs + 60_000;
}

/**
 * Sends a delivery again, whatever its status (a failed one after its schedule ran out, or a
 * delivered one the receiver lost).
 * - the delivery must exist and its endpoint must not be deleted (`webhook_delivery_not_found`);
 * - the endpoint must be enabled (`webhook_endpoint_disabled`: it answered 410 Gone);
 * - no attempt of it may be running (`webhook_delivery_in_progress`): that attempt would
 *   settle the row after the reset and could mark it failed as its last. The attempt's claim
 *   on the row is checked by the reset itself (one statement, so none can start in between);
 *   the queue's view is asked first, which also catches a job taken but not yet claimed;
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
    private readonly leaseMs: number = attemptLeaseMs(10_000),
  ) {}

  async execute(deliveryId: string): Promise<void> {
    const delivery = await this.deliveries.findDelivery(deliveryId);
    const endpoint = delivery && (await this.endpoints.findById(delivery.endpointId));
    if (!delivery || !endpoint) throw new WebhookDeliveryNotFoundError(deliveryId);
    if (!endpoint.enabled) throw new WebhookEndpointDisabledError(endpoint.id, endpoint.disabledReason);
    if (await this.queue.isInFlight(deliveryId)) throw new WebhookDeliveryInProgressError(deliveryId);
    // Row first, then the job: if enqueueing fails, the row is pending and the sweeper
    // re-enqueues it; the other order could run a job that finds the row not pending.
    const now = this.clock.now();
    const claimsSince = new Date(now.getTime() - this.leaseMs);
    if (!(await this.deliveries.resetForReplay(deliveryId, now, claimsSince))) {
      throw new WebhookDeliveryInProgressError(deliveryId);
    }
    await this.queue.enqueue(deliveryId);
  }
}
