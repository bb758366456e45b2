import { pageLimit } from '../page-limit.js';
import { WebhookEndpointNotFoundError } from './errors.js';
import type { WebhookDeliveryStatus, WebhookDeliveryView, WebhookEndpointRepository } from './ports.js';

export const DEFAULT_DELIVERY_PAGE = 50;
export const MAX_DELIVERY_PAGE = 100;

export interface ListWebhookDeliveriesInput {
  endpointId: string;
  status?: WebhookDeliveryStatus | undefined;
  /** At most 100; default 50. */
  limit?: number | undefined;
}

/**
 * The latest deliveries of an endpoint, newest first, optionally of one status, each with its
 * attempts (time, status code, duration, error) and when the next one is due.
 * `webhook_endpoint_not_found` when the endpoint is unknown or deleted.
 */
export class ListWebhookDeliveries {
  constructor(private readonly endpoints: WebhookEndpointRepository) {}

  async execute(input: ListWebhookDeliveriesInput): Promise<WebhookDeliveryView[]> {
    if (!(await this.endpoints.findById(input.endpointId))) throw new WebhookEndpointNotFoundError(input.endpointId);
    const limit = pageLimit(input.limit, DEFAULT_DELIVERY_PAGE, MAX_DELIVERY_PAGE);
    return this.endpoints.listDeliveries(input.endpointId, { status: input.status, limit });
  }
}
