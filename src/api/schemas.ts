import { z } from 'zod';
import { MAX_WEBHOOK_URL_LENGTH } from '../application/webhooks/create-webhook-endpoint.js';
import { ALL_EVENT_TYPES, WEBHOOK_EVENT_TYPES } from '../application/webhooks/event-types.js';
import { DEFAULT_DELIVERY_PAGE, MAX_DELIVERY_PAGE } from '../application/webhooks/list-webhook-deliveries.js';
import { COMMAND_STATUSES } from '../application/commerce/queries/get-command-status.js';
import { ORDER_STATUSES } from '../domain/index.js';

// Request parameters and response bodies of the HTTP routes. Command bodies are not here:
// they are the schemas of queues/commands.ts, shared with the worker.

/** An id in a path: any RFC 9562 UUID, normalised to lower case as the domain stores it. */
export const uuidParam = () => z.uuid().toLowerCase();

const uuid = () => z.uuid();
const timestamp = () => z.string().describe('ISO 8601 date-time');

export const moneyDto = z.object({
  amount: z.string().describe('decimal string with the currency\'s minor digits, e.g. "12.50"'),
  currency: z.string().describe('ISO 4217 code'),
});

export const orderDto = z.object({
  orderId: uuid(),
  userId: uuid(),
  status: z.enum(ORDER_STATUSES),
  items: z.array(
    z.object({
      productId: uuid(),
      sku: z.string(),
      name: z.string(),
      quantity: z.int(),
      unitPrice: moneyDto,
      lineTotal: moneyDto,
    }),
  ),
  total: moneyDto,
  cancellationReason: z.string().nullable(),
  placedAt: timestamp(),
  updatedAt: timestamp(),
});

export const productDto = z.object({
  productId: uuid(),
  sku: z.string(),
  name: z.string(),
  price: moneyDto,
  stock: z.int(),
  createdAt: timestamp(),
  updatedAt: timestamp(),
});

export const orderPageDto = z.object({
  items: z.array(orderDto),
  total: z.int(),
  page: z.int(),
  pageSize: z.int(),
});

export const orderSummaryDto = z.object({
  totalOrders: z.int(),
  totalSpent: z.string(),
  averageOrderValue: z.string(),
  currency: z.string().nullable().describe('null when the user has no orders in the range'),
});

export const commandStatusDto = z.object({
  commandId: uuid(),
  type: z.string(),
  status: z
    .enum(COMMAND_STATUSES)
    .describe('queued, scheduled (Run-At not reached), running; final: succeeded, failed, cancelled'),
  attempts: z.int(),
  runAt: timestamp().optional().describe('when a scheduled command is due; only while it is scheduled'),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

// ---- webhooks (docs/design.md §3). The use cases enforce the same rules again; the schemas give
// clients field-level errors and the OpenAPI document its shapes.

const webhookEventType = z
  .enum([...WEBHOOK_EVENT_TYPES, ALL_EVENT_TYPES] as const)
  .describe('an event type of docs/design.md §4, or "*" (alone) for every event type, including future ones');

export const createWebhookEndpointBody = z.strictObject({
  url: z
    .url({ protocol: z.regexes.httpProtocol, error: 'must be an absolute http:// or https:// URL' })
    .max(MAX_WEBHOOK_URL_LENGTH)
    .describe(
      'where deliveries are POSTed; refused if its host is or resolves to a loopback, private, link-local, ' +
        'metadata or other non-public address (unless WEBHOOK_ALLOW_PRIVATE=true)',
    ),
  eventTypes: z
    .array(webhookEventType)
    .min(1)
    .max(WEBHOOK_EVENT_TYPES.length)
    .describe('the event types to receive; duplicates are dropped'),
});

const webhookEndpointFields = {
  id: uuid(),
  url: z.string().describe('the URL as normalised at registration'),
  eventTypes: z.array(z.string()),
  createdAt: timestamp(),
};

export const createdWebhookEndpointDto = z
  .object({
    ...webhookEndpointFields,
    secret: z.string().describe('"whsec_…" signing secret (Standard Webhooks): shown in this answer only'),
  })
  .describe('the endpoint, with its signing secret');

export const webhookEndpointDto = z.object({
  ...webhookEndpointFields,
  enabled: z.boolean().describe('false once the receiver answered 410 Gone: it gets no more deliveries'),
  disabledReason: z.string().nullable(),
});

export const webhookEndpointListDto = z.object({ items: z.array(webhookEndpointDto) });

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

export const webhookAttemptDto = z.object({
  attemptedAt: timestamp(),
  statusCode: z.int().nullable().describe('the HTTP status answered; null when no response came back'),
  durationMs: z.int(),
  error: z.string().nullable().describe('why the attempt failed; null on 2xx'),
});

export const webhookDeliveryDto = z.object({
  id: uuid().describe('also the webhook-id header: stable across attempts and replays'),
  endpointId: uuid(),
  eventId: uuid(),
  eventType: z.string(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.int().describe('how many attempts were made'),
  nextAttemptAt: timestamp().nullable().describe('when the next attempt is due; null unless pending'),
  lastStatusCode: z.int().nullable(),
  lastError: z.string().nullable(),
  createdAt: timestamp(),
  deliveredAt: timestamp().nullable(),
  attemptLog: z.array(webhookAttemptDto).describe('every attempt, oldest first'),
});

export const webhookDeliveryListDto = z.object({
  items: z.array(webhookDeliveryDto).describe('newest first'),
});

export const webhookDeliveriesQuery = z.object({
  status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional().describe('only deliveries in this status'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_DELIVERY_PAGE)
    .default(DEFAULT_DELIVERY_PAGE)
    .describe('how many of the latest deliveries'),
});

export const replayAcceptedDto = z
  .object({ deliveryId: uuid(), status: z.literal('pending') })
  .describe('accepted: the delivery is queued again');

/** Security requirement of every /v1 route (see the `bearerAuth` scheme in docs.ts). */
export const BEARER_SECURITY = [{ bearerAuth: [] }];
