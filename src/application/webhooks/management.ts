import type { CreateWebhookEndpoint } from './create-webhook-endpoint.js';
import type { DeleteWebhookEndpoint } from './delete-webhook-endpoint.js';
import type { GetWebhookEndpoint } from './get-webhook-endpoint.js';
import type { ListWebhookDeliveries } from './list-webhook-deliveries.js';
import type { ListWebhookEndpoints } from './list-webhook-endpoints.js';
import type { ReplayWebhookDeliveries } from './replay-webhook-deliveries.js';
import type { ReplayWebhookDelivery } from './replay-webhook-delivery.js';
import type { RotateWebhookSecret } from './rotate-webhook-secret.js';
import type { SendTestWebhook } from './send-test-webhook.js';
import type { UpdateWebhookEndpoint } from './update-webhook-endpoint.js';

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
  /** Changes the URL (SSRF-checked), the event types, or enables / disables the endpoint. */
  updateEndpoint: Pick<UpdateWebhookEndpoint, 'execute'>;
  /** A new secret, shown once; the previous one still signs for the overlap. */
  rotateSecret: Pick<RotateWebhookSecret, 'execute'>;
  /** A `webhook.test` delivery to that endpoint only. */
  sendTest: Pick<SendTestWebhook, 'execute'>;
  /** The latest deliveries of an endpoint, newest first, each with its attempts. */
  listDeliveries: Pick<ListWebhookDeliveries, 'execute'>;
  /** Sets the delivery pending again and puts it back on the `webhooks` queue. */
  replayDelivery: Pick<ReplayWebhookDelivery, 'execute'>;
  /** Replays every delivery of an endpoint in a status since a moment; answers how many were queued. */
  replayDeliveries: Pick<ReplayWebhookDeliveries, 'execute'>;
}
