import { EntitySchema } from '@mikro-orm/core';
import { primaryUuid, uuid, varchar, text, integer, json, timestamp } from './columns.js';

// Tables of the delivery side (relay, mailer, webhooks). They are records of infrastructure
// work, not domain aggregates; the workers mostly use them through plain SQL.

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';
export type EmailStatus = 'pending' | 'sent' | 'failed';

export class WebhookEndpointRecord {
  id!: string;
  url!: string;
  eventTypes!: string[];
  /**
   * The signing secret, encrypted (`enc:v1:<key id>:…`, docs/adr/0015-webhook-secrets-at-rest.md);
   * a `whsec_…` plaintext only until the release step after an upgrade encrypts it.
   */
  secret!: string;
  /**
   * The secret before the last rotation (encrypted the same way), and until when deliveries are signed with it too
   * (WEBHOOK_SECRET_OVERLAP after the rotation); null when the endpoint was never rotated.
   */
  previousSecret: string | null = null;
  previousSecretExpiresAt: Date | null = null;
  enabled = true;
  /** Why and when the endpoint was disabled (410 Gone, WEBHOOK_DISABLE_AFTER, an operator); null while enabled. */
  disabledReason: string | null = null;
  disabledAt: Date | null = null;
  /** When the first of the attempts that have failed since the last successful one was made; null after a success. */
  failingSince: Date | null = null;
  /** Deliveries per second at most (docs/adr/0013-webhook-delivery-rate.md); null: WEBHOOK_DELIVERY_RATE. */
  deliveryRate: number | null = null;
  createdAt!: Date;
  deletedAt: Date | null = null;
}

export const WebhookEndpointSchema = new EntitySchema<WebhookEndpointRecord>({
  class: WebhookEndpointRecord,
  tableName: 'webhook_endpoints',
  properties: {
    id: primaryUuid(),
    url: text(),
    eventTypes: json(),
    secret: text(),
    previousSecret: text({ nullable: true }),
    previousSecretExpiresAt: timestamp({ nullable: true }),
    enabled: { type: 'boolean', default: true },
    disabledReason: text({ nullable: true }),
    disabledAt: timestamp({ nullable: true }),
    failingSince: timestamp({ nullable: true }),
    deliveryRate: { type: 'double', nullable: true },
    createdAt: timestamp(),
    deletedAt: timestamp({ nullable: true }),
  },
});

export class WebhookDeliveryRecord {
  /** Also the `webhook-id` header: stable across retries, so receivers can deduplicate. */
  id!: string;
  endpointId!: string;
  eventId!: string;
  eventType!: string;
  /** The exact JSON body `{type, timestamp, data}`, fixed at creation so every attempt signs the same bytes. */
  body!: string;
  status: DeliveryStatus = 'pending';
  attempts = 0;
  nextAttemptAt: Date | null = null;
  lastStatusCode: number | null = null;
  lastError: string | null = null;
  createdAt!: Date;
  deliveredAt: Date | null = null;
  /**
   * The attempt being made right now (its id in webhook_delivery_attempts) and when it began;
   * null when none is. Set by the worker before it sends, cleared when it records the attempt.
   * A replay refuses to reset the delivery while they are set (unless older than the lease).
   */
  attemptId: string | null = null;
  attemptStartedAt: Date | null = null;
}

export const WebhookDeliverySchema = new EntitySchema<WebhookDeliveryRecord>({
  class: WebhookDeliveryRecord,
  tableName: 'webhook_deliveries',
  properties: {
    id: primaryUuid(),
    endpointId: uuid(),
    eventId: uuid(),
    eventType: varchar(64),
    body: text(),
    status: varchar(16, { default: 'pending' }),
    attempts: integer({ default: 0 }),
    nextAttemptAt: timestamp({ nullable: true }),
    lastStatusCode: integer({ nullable: true }),
    lastError: text({ nullable: true }),
    createdAt: timestamp(),
    deliveredAt: timestamp({ nullable: true }),
    attemptId: uuid({ nullable: true }),
    attemptStartedAt: timestamp({ nullable: true }),
  },
  uniques: [{ name: 'webhook_deliveries_endpoint_event_unique', properties: ['endpointId', 'eventId'] }],
  indexes: [
    { name: 'webhook_deliveries_endpoint_created_index', properties: ['endpointId', 'createdAt'] },
    {
      name: 'webhook_deliveries_pending_index',
      expression:
        'create index "webhook_deliveries_pending_index" on "webhook_deliveries" ("next_attempt_at") where "status" = \'pending\'',
    },
    // Retention: settled deliveries by age, and whether an outbox event still has a pending one.
    { name: 'webhook_deliveries_status_created_index', properties: ['status', 'createdAt', 'id'] },
    {
      name: 'webhook_deliveries_pending_event_index',
      expression:
        'create index "webhook_deliveries_pending_event_index" on "webhook_deliveries" ("event_id") where "status" = \'pending\'',
    },
  ],
});

export class WebhookAttemptRecord {
  id!: string;
  deliveryId!: string;
  attemptedAt!: Date;
  statusCode: number | null = null;
  durationMs!: number;
  error: string | null = null;
}

export const WebhookAttemptSchema = new EntitySchema<WebhookAttemptRecord>({
  class: WebhookAttemptRecord,
  tableName: 'webhook_delivery_attempts',
  properties: {
    id: primaryUuid(),
    deliveryId: uuid({ index: 'webhook_delivery_attempts_delivery_index' }),
    attemptedAt: timestamp(),
    statusCode: integer({ nullable: true }),
    durationMs: integer(),
    error: text({ nullable: true }),
  },
});

export class EmailMessageRecord {
  id!: string;
  eventId!: string;
  /** welcome | order_confirmation | shipping_notice | cancellation_notice */
  template!: string;
  toAddress!: string;
  /** The RFC 5322 Message-ID, stable across retries, so a receiver can deduplicate. */
  messageId!: string;
  status: EmailStatus = 'pending';
  attempts = 0;
  lastResponse: string | null = null;
  nextAttemptAt: Date | null = null;
  createdAt!: Date;
  sentAt: Date | null = null;
  /** The subject of the last attempt (null until one was made): what the recipient saw. */
  subject: string | null = null;
  /** When the email became sent or failed; null while pending (and on rows settled before it was recorded). */
  finishedAt: Date | null = null;
}

export const EmailMessageSchema = new EntitySchema<EmailMessageRecord>({
  class: EmailMessageRecord,
  tableName: 'email_messages',
  properties: {
    id: primaryUuid(),
    eventId: uuid(),
    template: varchar(32),
    toAddress: varchar(254),
    messageId: varchar(255),
    status: varchar(16, { default: 'pending' }),
    attempts: integer({ default: 0 }),
    lastResponse: text({ nullable: true }),
    nextAttemptAt: timestamp({ nullable: true }),
    createdAt: timestamp(),
    sentAt: timestamp({ nullable: true }),
    subject: varchar(998, { nullable: true }),
    finishedAt: timestamp({ nullable: true }),
  },
  uniques: [{ name: 'email_messages_event_template_unique', properties: ['eventId', 'template'] }],
  indexes: [
    {
      name: 'email_messages_pending_index',
      expression: 'create index "email_messages_pending_index" on "email_messages" ("created_at") where "status" = \'pending\'',
    },
    // GET /v1/emails walks (created_at, id) newest first, optionally by status or recipient;
    // retention walks settled rows by status.
    { name: 'email_messages_created_index', properties: ['createdAt', 'id'] },
    { name: 'email_messages_status_created_index', properties: ['status', 'createdAt', 'id'] },
    { name: 'email_messages_to_created_index', properties: ['toAddress', 'createdAt', 'id'] },
  ],
});

export const deliveryEntities = [WebhookEndpointSchema, WebhookDeliverySchema, WebhookAttemptSchema, EmailMessageSchema];
