import type { Clock } from '../clock.js';
import { checkUrlAllowed, parseWebhookUrl, validateEventTypes } from './create-webhook-endpoint.js';
import { WebhookEndpointNotFoundError } from './errors.js';
import { toDto, type WebhookEndpointDto } from './list-webhook-endpoints.js';
import type { WebhookEndpointRepository, WebhookUrlGuard } from './ports.js';

export interface UpdateWebhookEndpointInput {
  endpointId: string;
  url?: string | undefined;
  eventTypes?: string[] | undefined;
  enabled?: boolean | undefined;
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
 *   pending ones fail unsent. An endpoint disabled already keeps its reason.
 * Answers the endpoint as it is after the change.
 */
export class UpdateWebhookEndpoint {
  constructor(
    private readonly endpoints: WebhookEndpointRepository,
    private readonly urlGuard: WebhookUrlGuard,
    private readonly clock: Clock,
  ) {}

  async execute(input: UpdateWebhookEndpointInput): Promise<WebhookEndpointDto> {
    const url = input.url === undefined ? undefined : parseWebhookUrl(input.url);
    const eventTypes = input.eventTypes === undefined ? undefined : validateEventTypes(input.eventTypes);
    if (!(await this.endpoints.findById(input.endpointId))) throw new WebhookEndpointNotFoundError(input.endpointId);
    if (url !== undefined) await checkUrlAllowed(this.urlGuard, url);
    const updated = await this.endpoints.update(
      input.endpointId,
      {
        url,
        eventTypes,
        enable: input.enabled === true,
        disable: input.enabled === false ? { reason: DISABLED_THROUGH_API } : undefined,
      },
      this.clock.now(),
    );
    // Deleted between the two statements.
    if (!updated) throw new WebhookEndpointNotFoundError(input.endpointId);
    return toDto(updated);
  }
}
