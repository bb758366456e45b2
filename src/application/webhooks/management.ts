import type { CreateWebhookEndpoint } from './create-webhook-endpoint.js';
import type { DeleteWebhookEndpoint } from './delete-webhook-endpoint.js';
import type { GetWebhookEndpoint } from './get-webhook-endpoint.js';
import type { ListWebhookDeliveries } from './list-webhook-deliveries.js';
import type { ListWebhookEndpoints } from './list-webhook-endpoints.js';
import type { ReplayWebhookDelivery } from './replay-webhook-delivery.js';

/**
 * The webhook endpoint use cases, as the HTTP routes call them; src/main builds the real
 * ones. Each is only its `execute`, so a test can stand in for any of them. They throw the
 * errors of ./errors.ts, which the HTTP error handler maps.
 */
export interface WebhookManagement {
  createEndpoint: Pick<CreateWebhookEndpoint, 'execute'>;
  /** Endpoints not deleted, oldest first, without secrets. */
  listEndpoints: Pick<ListWebhookEndpoints, 'execute'>;
  getEndpoint: Pick<GetWebhookEndpoint, 'execute'>;
  deleteEndpoint: Pick<DeleteWebhookEndpoint, 'execute'>;
  /** The latest deliveries of an endpoint, newest first, each with its attempts. */
  listDeliveries: Pick<ListWebhookDeliveries, 'execute'>;
  /** Sets the delivery pending again and puts it back on the `webhooks` queue. */
  replayDelivery: Pick<ReplayWebhookDelivery, 'execute'>;
}
