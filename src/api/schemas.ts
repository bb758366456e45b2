import { z } from 'zod';
import { DEFAULT_EMAIL_PAGE, MAX_EMAIL_PAGE } from '../application/email/list-emails.js';
import { EMAIL_STATUSES } from '../application/email/ports.js';
import { MAX_WEBHOOK_URL_LENGTH } from '../application/webhooks/create-webhook-endpoint.js';
import { MAX_DELIVERY_RATE, MIN_DELIVERY_RATE } from '../application/webhooks/delivery-rate.js';
import { ALL_EVENT_TYPES, WEBHOOK_EVENT_TYPES } from '../application/webhooks/event-types.js';
import { DEFAULT_DELIVERY_PAGE, MAX_DELIVERY_PAGE } from '../application/webhooks/list-webhook-deliveries.js';
import { DEFAULT_RUNS_PAGE, MAX_RUNS_PAGE } from '../application/scheduling/list-schedule-runs.js';
import {
  DEFAULT_TIMEZONE,
  MAX_CRON_LENGTH,
  MAX_EVERY_SECONDS,
  MAX_SCHEDULE_NAME_LENGTH,
  recurrenceProblems,
} from '../application/scheduling/schedule.js';
import { MAX_EMAIL_LENGTH, ORDER_STATUSES } from '../domain/index.js';
import { scheduledCommandSchema } from '../../queues/schedules.js';
import { cursorParam } from './cursor.js';
import { COMMAND_STATUSES } from '../application/commerce/queries/get-command-status.js';

// Request parameters and response bodies of the HTTP routes. Command bodies are not here:
// they are the schemas of queues/commands.ts, shared with the worker.

/** An id in a path: any RFC 9562 UUID, normalised to lower case as the domain stores it. */
export const uuidParam = () => z.uuid().toLowerCase();

/** A page size (or number) in a query string: a whole number from 1 to `max`, `fallback` when left out. */
export const pageParam = (max: number, fallback: number) => z.coerce.number().int().min(1).max(max).default(fallback);

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
    .describe(
      'queued, scheduled (Run-At not reached), running; final: succeeded, failed (a domain error), cancelled; ' +
        'gave_up: the retries ran out on infrastructure errors, POST /v1/commands/retry runs it again',
    ),
  attempts: z.int(),
  runAt: timestamp().optional().describe('when a scheduled command is due; only while it is scheduled'),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  waitingFor: uuid()
    .optional()
    .describe('queued: held back until this command, accepted earlier on the same order, user or product, has its outcome'),
  sentBy: z.string().optional().describe('the name of the API key that sent the command; absent when none did (a schedule, an order expiry)'),
});

// ---- webhooks (docs/design.md §3). The use cases enforce the same rules again; the schemas give
// clients field-level errors and the OpenAPI document its shapes.

const webhookEventType = z
  .enum([...WEBHOOK_EVENT_TYPES, ALL_EVENT_TYPES] as const)
  .describe('an event type of docs/design.md §4, or "*" (alone) for every event type, including future ones');

const webhookUrl = z
  .url({ protocol: z.regexes.httpProtocol, error: 'must be an absolute http:// or https:// URL' })
  .max(MAX_WEBHOOK_URL_LENGTH)
  .describe(
    'where deliveries are POSTed; refused if its host is or resolves to a loopback, private, link-local, ' +
      'metadata or other non-public address (unless WEBHOOK_ALLOW_PRIVATE=true)',
  );

const webhookEventTypes = z
  .array(webhookEventType)
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .describe('the event types to receive; duplicates are dropped');

const RATE_RANGE = `from ${MIN_DELIVERY_RATE} to ${MAX_DELIVERY_RATE} deliveries per second`;

const deliveryRate = z
  .number({ error: `must be a number of deliveries per second (${RATE_RANGE}), or null` })
  .min(MIN_DELIVERY_RATE, `must be at least ${MIN_DELIVERY_RATE} deliveries per second`)
  .max(MAX_DELIVERY_RATE, `must be at most ${MAX_DELIVERY_RATE} deliveries per second`)
  .nullable()
  .describe(
    `deliveries per second at most to this endpoint, across every webhooks process (${RATE_RANGE}; bursts of a ` +
      'tenth of a second\'s worth, at least 2); null: WEBHOOK_DELIVERY_RATE (100 unless the operator set another)',
  );

export const createWebhookEndpointBody = z.strictObject({
  url: webhookUrl,
  eventTypes: webhookEventTypes,
  deliveryRate: deliveryRate.optional(),
});

const UPDATABLE = ['url', 'eventTypes', 'enabled', 'deliveryRate'] as const;

export const updateWebhookEndpointBody = z
  .strictObject({
    url: webhookUrl.optional(),
    eventTypes: webhookEventTypes.optional(),
    enabled: z
      .boolean()
      .optional()
      .describe(
        'true enables a disabled endpoint again (clearing disabledReason and disabledAt); false disables it: ' +
          'no new deliveries, pending ones fail unsent',
      ),
    deliveryRate: deliveryRate.optional(),
  })
  .refine((body) => UPDATABLE.some((field) => body[field] !== undefined), `name at least one of ${UPDATABLE.join(', ')}`)
  .describe('the fields to change; those left out stay as they are');

/** A POST without fields: `{}`, or no body at all. */
export const emptyBody = z.strictObject({}).describe('no fields: {} or no body at all');

const webhookEndpointFields = {
  id: uuid(),
  url: z.string().describe('the URL as normalised at registration'),
  eventTypes: z.array(z.string()),
  deliveryRate: z
    .number()
    .nullable()
    .describe("the endpoint's own limit in deliveries per second; null: it follows WEBHOOK_DELIVERY_RATE"),
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
  enabled: z
    .boolean()
    .describe('false once disabled: it answered 410 Gone, failed every attempt for WEBHOOK_DISABLE_AFTER, or was disabled through the API'),
  disabledReason: z.string().nullable(),
  disabledAt: timestamp().nullable(),
  failingSince: timestamp()
    .nullable()
    .describe('the first attempt that failed since the last successful one; null after a success (the WEBHOOK_DISABLE_AFTER clock)'),
  previousSecretExpiresAt: timestamp()
    .nullable()
    .describe('after a rotation: until when deliveries are signed with the previous secret too; null if never rotated'),
});

export const rotatedWebhookSecretDto = z
  .object({
    id: uuid(),
    secret: z.string().describe('the new "whsec_…" signing secret: shown in this answer only'),
    previousSecretExpiresAt: timestamp().describe('until then every delivery is signed with the new and the previous secret'),
  })
  .describe('the new signing secret');

export const testWebhookAcceptedDto = z
  .object({ deliveryId: uuid(), eventId: uuid(), status: z.literal('pending') })
  .describe('accepted: a webhook.test delivery is queued; it is listed with the endpoint\'s deliveries');

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
  limit: pageParam(MAX_DELIVERY_PAGE, DEFAULT_DELIVERY_PAGE).describe('how many of the latest deliveries'),
});

export const replayDeliveriesBody = z.strictObject({
  status: z.enum(['failed', 'delivered']).describe('replay the deliveries in this status'),
  since: z.iso
    .datetime({ offset: true, error: 'must be an RFC 3339 date-time with a time zone, e.g. 2026-12-01T00:00:00Z' })
    .describe('replay the deliveries created at or after this moment (RFC 3339)'),
});

export const replayDeliveriesAcceptedDto = z
  .object({ endpointId: uuid(), queued: z.int().describe('how many deliveries were queued again') })
  .describe('accepted: the matching deliveries are pending and queued again');

export const replayAcceptedDto = z
  .object({ deliveryId: uuid(), status: z.literal('pending') })
  .describe('accepted: the delivery is queued again');

// ---- schedules (docs/design.md §3). The recurrence is checked by the rule CreateSchedule applies
// (recurrenceProblems), the command by the queue contract (queues/schedules.ts), so a refused
// schedule gets the same field errors as any other invalid body.

const SECONDS = /^[0-9]{1,9}$/;

/** `every` as sent: a string of whole seconds, as in `"every": "60"`, or a JSON integer. */
export function everySeconds(every: string | number | undefined): number | undefined {
  return every === undefined ? undefined : Number(every);
}

export const createScheduleBody = z
  .strictObject({
    name: z.string().trim().min(1).max(MAX_SCHEDULE_NAME_LENGTH).describe('for people: shown in lists and logs'),
    every: z
      .union([z.string().regex(SECONDS, 'must be whole seconds, e.g. "60"'), z.int()])
      .optional()
      .describe(`seconds between runs, 1 to ${MAX_EVERY_SECONDS} (a string such as "60", or an integer); not with "cron"`),
    cron: z
      .string()
      .max(MAX_CRON_LENGTH)
      .optional()
      .describe('5-field cron expression: minute hour day-of-month month day-of-week, e.g. "0 9 * * 1-5"; not with "every"'),
    timezone: z
      .string()
      .max(64)
      .optional()
      .describe(`IANA time zone the cron expression is read in, e.g. "Europe/Paris" (cron only; default ${DEFAULT_TIMEZONE})`),
    command: scheduledCommandSchema.describe(
      'the command every run sends: its type and body, as its route would take it, with the id its route has in ' +
        'the path in the body (e.g. productId for RestockProduct); PlaceOrder gets a new orderId at every run',
    ),
  })
  .superRefine((body, ctx) => {
    for (const problem of recurrenceProblems({ ...body, every: everySeconds(body.every) })) {
      ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
    }
  });

export const scheduleDto = z.object({
  id: uuid(),
  name: z.string(),
  every: z.string().optional().describe('seconds between runs (every schedules)'),
  cron: z.string().optional().describe('the cron expression (cron schedules)'),
  timezone: z.string().optional().describe('the time zone of the cron expression (cron schedules)'),
  command: z.object({ type: z.string(), body: z.record(z.string(), z.unknown()) }),
  createdAt: timestamp(),
  nextRunAt: timestamp()
    .nullable()
    .describe('when the next run is due; null while Redis holds no job scheduler for it (the relay restores it)'),
  runsUrl: z.string().describe('where its runs are listed'),
});

export const scheduleListDto = z.object({ items: z.array(scheduleDto).describe('oldest first') });

export const scheduleRunListDto = z.object({
  items: z
    .array(
      commandStatusDto.extend({
        dueAt: timestamp().describe('the tick the run is for'),
        statusUrl: z.string().describe('where to follow the run: GET it'),
      }),
    )
    .describe('newest first: each run is an ordinary command, with its status as GET /v1/commands/{commandId} answers it'),
});

export const scheduleRunsQuery = z.object({
  limit: pageParam(MAX_RUNS_PAGE, DEFAULT_RUNS_PAGE).describe('how many of the latest runs'),
});

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
    limit: pageParam(MAX_EMAIL_PAGE, DEFAULT_EMAIL_PAGE).describe('emails per page'),
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
