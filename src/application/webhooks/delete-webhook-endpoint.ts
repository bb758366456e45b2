import type { Clock } from '../clock.js';
import { WebhookEndpointNotFoundError } from './errors.js';
import type { WebhookEndpointRepository } from './ports.js';

/**
 * Deletes a webhook endpoint.
 * - the endpoint must exist and not be deleted already (`webhook_endpoint_not_found`);
 * - the row is kept (soft delete) so its deliveries and attempts stay in the database for operators
 *   (the API answers 404 for it, like for an unknown endpoint); it receives no
 *   new deliveries, and pending ones fail with "endpoint disabled" instead of being sent.
 */
export class DeleteWebhookEndpoint {
  constructor(
    private readonly endpoints: WebhookEndpointRepository,
    private readonly clock: Clock,
  ) {}

  async execute(endpointId: string): Promise<void> {
    if (!(await this.endpoints.softDelete(endpointId, this.clock.now()))) {
      throw new WebhookEndpointNotFoundError(endpointId);
    }
  }
}
