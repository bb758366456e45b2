import type { CommandPayload, CommandType } from '../../queues/index.js';
import type {
  CreateWebhookEndpointInput,
  CreatedWebhookEndpoint,
} from '../application/webhooks/create-webhook-endpoint.js';
import type { ListWebhookDeliveriesInput } from '../application/webhooks/list-webhook-deliveries.js';
import type { WebhookEndpointDto } from '../application/webhooks/list-webhook-endpoints.js';
import type { WebhookDeliveryView } from '../application/webhooks/ports.js';

// Ports of the HTTP edge. Their adapters live in src/infrastructure (which may not import
// src/api), so they satisfy these interfaces structurally; the composition root checks that.

/** Puts a validated command on the queue. Adding the same commandId twice must leave one job. */
export interface CommandSender {
  send(type: CommandType, payload: CommandPayload): Promise<void>;
}

/**
 * Atomic key-value records with a time to live, for Idempotency-Key handling. Values are
 * opaque strings; keys arrive already scoped and hashed.
 */
export interface IdempotencyStore {
  /** Stores `value` unless `key` exists; returns the value already stored, or null when this call stored it. */
  putIfAbsent(key: string, value: string, ttlSeconds: number): Promise<string | null>;
  /** Stores `value`, replacing what is there. */
  put(key: string, value: string, ttlSeconds: number): Promise<void>;
}

/**
 * The process's Prometheus metrics, as the HTTP edge sees them: it records every answered
 * request and serves the registry on GET /metrics.
 */
export interface ApiMetrics {
  /** One answered request; `route` is the route pattern (`/v1/orders/:orderId`), never the raw URL. */
  observeRequest(method: string, route: string, statusCode: number, seconds: number): void;
  /** Content type of the exposition (Prometheus text format). */
  readonly contentType: string;
  /** Every metric of the process, as Prometheus text. */
  render(): Promise<string>;
}

/**
 * The webhook endpoint use cases the routes call (docs/design.md §3 "Webhooks"), typed with their
 * inputs and outputs in src/application/webhooks; the composition root passes the real ones.
 * They throw the errors of src/application/webhooks/errors.ts, which the error handler maps.
 */
export interface WebhookUseCases {
  createEndpoint: { execute(input: CreateWebhookEndpointInput): Promise<CreatedWebhookEndpoint> };
  /** Endpoints not deleted, oldest first, without secrets. */
  listEndpoints: { execute(): Promise<WebhookEndpointDto[]> };
  getEndpoint: { execute(endpointId: string): Promise<WebhookEndpointDto> };
  deleteEndpoint: { execute(endpointId: string): Promise<void> };
  /** The latest deliveries of an endpoint, newest first, each with its attempts. */
  listDeliveries: { execute(input: ListWebhookDeliveriesInput): Promise<WebhookDeliveryView[]> };
  /** Sets the delivery pending again and puts it back on the `webhooks` queue. */
  replayDelivery: { execute(deliveryId: string): Promise<void> };
}
