import { z } from 'zod';
import { DEFAULT_EMAIL_PAGE, MAX_EMAIL_PAGE } from '../application/email/list-emails.js';
import { EMAIL_STATUSES } from '../application/email/ports.js';
import { MAX_WEBHOOK_URL_LENGTH } from '../application/webhooks/create-webhook-endpoint.js';
import { ALL_EVENT_TYPES, WEBHOOK_EVENT_TYPES } from '../application/webhooks/event-types.js';
import { DEFAULT_DELIVERY_PAGE, MAX_DELIVERY_PAGE } from '../application/webhooks/list-webhook-deliveries.js';
import { MAX_EMAIL_LENGTH, ORDER_STATUSES } from '../domain/index.js';
import { cursorParam } from './cursor.js';

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
  status: z.enum(['queued', 'running', 'succeeded', 'failed']),
  attempts: z.int(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  waitingFor: uuid()
    .optional()
    .describe('queued: held back until this command, accepted earlier on the same order, user or product, has its outcome'),
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

// ---- emails (docs/design.md §3): what an operator needs to follow an email, never its body.

export const emailsQuery = z
  .strictObject({
    status: z.enum(EMAIL_STATUSES).optional().describe('only emails in this status'),
    to: z
      .string()
      .trim()
      .toLowerCase()
      .min(1)
      .max(MAX_EMAIL_LENGTH)
      .optional()
      .describe('only emails to this address (compared in lower case, as addresses are stored)'),
    since: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('only emails created at or after this ISO 8601 date-time, e.g. 2026-12-01T00:00:00Z'),
    cursor: cursorParam().optional(),
    limit: z.coerce.number().int().min(1).max(MAX_EMAIL_PAGE).default(DEFAULT_EMAIL_PAGE).describe('emails per page'),
  })
  .describe('filters of the email listing; an unknown parameter is refused');

export const emailDto = z.object({
  id: uuid(),
  eventId: uuid().describe('the outbox event the email was sent for'),
  messageId: z.string().describe('RFC 5322 Message-ID: the same on every attempt and every resend'),
  template: z.string().describe('welcome | order_confirmation | shipping_notice | cancellation_notice'),
  to: z.string(),
  subject: z.string().nullable().describe('the subject of the last attempt; null until one was made'),
  status: z.enum(EMAIL_STATUSES),
  attempts: z.int().describe('attempts made, resends included'),
  lastResponse: z.string().nullable().describe("the SMTP server's last answer, or the error of the last attempt"),
  createdAt: timestamp(),
  sentAt: timestamp().nullable().describe('when the server last accepted it'),
  finishedAt: timestamp().nullable().describe('when it became sent or failed; null while pending'),
  nextAttemptAt: timestamp().nullable().describe('when a retry is due at the latest; null unless retrying'),
});

export const emailListDto = z.object({
  items: z.array(emailDto).describe('newest first'),
  nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
});

export const resendAcceptedDto = z
  .object({ emailId: uuid(), status: z.literal('pending') })
  .describe('accepted: the email is queued to be sent again');

/** Security requirement of every /v1 route (see the `bearerAuth` scheme in docs.ts). */
export const BEARER_SECURITY = [{ bearerAuth: [] }];
