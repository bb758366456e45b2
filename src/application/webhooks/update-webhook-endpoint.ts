import type { Clock } from '../clock.js';
import { checkUrlAllowed, parseWebhookUrl, validateEventTypes } from './create-webhook-endpoint.js';
import { validateDeliveryRate } from './delivery-rate.js';
import { WebhookEndpointNotFoundError } from './errors.js';
import { toDto, type WebhookEndpointDto } from './list-webhook-endpoints.js';
import type { WebhookDeliveryQueue, WebhookEndpointRepository, WebhookUrlGuard } from './ports.js';

export interface UpdateWebhookEndpointInput {
  endpointId: string;
  url?: string | undefined;
  eventTypes?: string[] | undefined;
  enabled?: boolean | undefined;
  /** Deliveries per second at most; null: back to WEBHOOK_DELIVERY_RATE. */
  deliveryRate?: number | null | undefined;
}

/** The reason recorded when an operator disables an endpoint. */
export const DISABLED_THROUGH_API = 'disabled through the API';

/**
 * Changes an endpoint's URL, event types or whether it is enabled; what is left out stays.
 * - the endpoint must exist and not be deleted (`webhook_endpoint_not_found`);
 * - a new URL is checked exactly as at registration: its shape (`invalid_webhook_url`), then the
 *   SSRF guard on every address its host resolves to (`webhook_url_not_allowed`); pending
 *   deliveries go to the new URL from their next attempt;
 * - new event types are checked as at registration (`invalid_event_types`) and apply to the
 *   events relayed from then on;
 * - `enabled: true` re-enables an endpoint disabled by a 410, by WEBHOOK_DISABLE_AFTER or through
 *   the API: the reason and time are cleared and the failing streak starts afresh, so the rule
 *   does not disable it again at its first failure. Deliveries that failed while it was disabled
 *   stay failed (replay them);
 * - `enabled: false` disables it ("disabled through the API"): it gets no new deliveries and its
 *   pending ones fail unsent. An endpoint disabled already keeps its reason;
 * - `deliveryRate` gives it a rate of its own, from 0.01 to 1000 deliveries per second
 *   (`invalid_delivery_rate`), or null to follow WEBHOOK_DELIVERY_RATE again. It applies at
 *   once, to the deliveries already waiting for a slot too: they are woken to take their
 *   places again at the new rate.
 * Answers the endpoint as it is after the change.
 */
export class UpdateWebhookEndpoint {
  constructor(
    private readonly endpoints: WebhookEndpointRepository,
    private readonly urlGuard: WebhookUrlGuard,
    private readonly clock: Clock,
    private readonly queue: Pick<WebhookDeliveryQueue, 'wakeWaitingForRate'>,
  ) {}

  async execute(input: UpdateWebhookEndpointInput): Promise<WebhookEndpointDto> {
    const url = input.url === undefined ? undefined : parseWebhookUrl(input.url);
    const eventTypes = input.eventTypes === undefined ? undefined : validateEventTypes(input.eventTypes);
    const deliveryRate = input.deliveryRate == null ? input.deliveryRate : validateDeliveryRate(input.deliveryRate);
    if (!(await this.endpoints.findById(input.endpointId))) throw new WebhookEndpointNotFoundError(input.endpointId);
    if (url !== undefined) await checkUrlAllowed(this.urlGuard, url);
    const updated = await this.endpoints.update(
      input.endpointId,
      {
        url,
        eventTypes,
        enable: input.enabled === true,
        disable: input.enabled === false ? { reason: DISABLED_THROUGH_API } : undefined,
        deliveryRate,
      },
      this.clock.now(),
    );
    // Deleted between the two statements.
    if (!updated) throw new WebhookEndpointNotFoundError(input.endpointId);
    // After the new rate is saved, so the woken deliveries read it.
    if (deliveryRate !== undefined) await this.queue.wakeWaitingForRate(input.endpointId);
    return toDto(updated);
  }
}
