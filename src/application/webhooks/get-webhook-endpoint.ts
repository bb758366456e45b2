import { WebhookEndpointNotFoundError } from './errors.js';
import { toDto, type WebhookEndpointDto } from './list-webhook-endpoints.js';
import type { WebhookEndpointRepository } from './ports.js';

/** One endpoint without its secret; `webhook_endpoint_not_found` when unknown or deleted. */
export class GetWebhookEndpoint {
  constructor(private readonly endpoints: WebhookEndpointRepository) {}

  async execute(endpointId: string): Promise<WebhookEndpointDto> {
    const endpoint = await this.endpoints.findById(endpointId);
    if (!endpoint) throw new WebhookEndpointNotFoundError(endpointId);
    return toDto(endpoint);
  }
}
