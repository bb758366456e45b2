import type { Clock } from '../clock.js';
import { WebhookEndpointDisabledError, WebhookEndpointNotFoundError } from './errors.js';
import type { ReplayFilter, WebhookDeliveryQueue, WebhookDeliveryRepository, WebhookEndpointRepository } from './ports.js';
import { attemptLeaseMs } from './replay-webhook-delivery.js';

export type ReplayWebhookDeliveriesInput = ReplayFilter;

/**
 * Sends again, in bulk, every delivery of an endpoint in a status (failed, or delivered) created
 * at or after `since`: after an outage of the receiver, or a fix on its side.
 * - the endpoint must exist and not be deleted (`webhook_endpoint_not_found`) and be enabled
 *   (`webhook_endpoint_disabled`: re-enable it first);
 * - one statement resets every matching delivery to pending, due now, with the single replay's
 *   rule: a delivery an attempt holds (claimed within the lease) is left out. A delivery reset
 *   is pending, so it no longer matches: calling again, even at the same time, does not queue
 *   it twice (the row lock lets one statement reset it, the other then finds it pending);
 * - then each gets a fresh job (a new retry schedule, the same `webhook-id`). If adding the jobs
 *   fails half-way, the rows are pending and the sweeper adds the rest; a job of the previous
 *   attempt that has not finished yet keeps its id, and the sweeper re-adds it once it has.
 * Answers how many deliveries were queued.
 */
export class ReplayWebhookDeliveries {
  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly endpoints: WebhookEndpointRepository,
    private readonly queue: WebhookDeliveryQueue,
    private readonly clock: Clock,
    private readonly leaseMs: number = attemptLeaseMs(10_000),
  ) {}

  async execute(input: ReplayWebhookDeliveriesInput): Promise<{ queued: number }> {
    const endpoint = await this.endpoints.findById(input.endpointId);
    if (!endpoint) throw new WebhookEndpointNotFoundError(input.endpointId);
    if (!endpoint.enabled) throw new WebhookEndpointDisabledError(endpoint.id, endpoint.disabledReason);
    const now = this.clock.now();
    const ids = await this.deliveries.resetManyForReplay(input, now, new Date(now.getTime() - this.leaseMs));
    await this.queue.enqueueMany(ids);
    return { queued: ids.length };
  }
}
