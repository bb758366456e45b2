import { EntitySchema, type Constructor } from '@mikro-orm/core';
import { Order, Product, User, type OrderItem, type OrderStatus } from '../../domain/index.js';
import { accessEntities } from './access-schemas.js';
import { deliveryEntities } from './delivery-schemas.js';
import { schedulingEntities } from './scheduling-schemas.js';
import { primaryUuid, uuid, varchar, text, integer, json, timestamp, money } from './columns.js';

// The domain keeps its state in private fields; the mapping names them here. These shapes
// are the persisted view of each aggregate and exist only in infrastructure.
interface UserRow {
  id: string;
  email: string;
  name: string;
  createdAt: Date;
}
interface ProductRow {
  id: string;
  sku: string;
  name: string;
  priceMinor: number;
  currency: string;
  stockLevel: number;
  createdAt: Date;
  updatedAt: Date;
}
interface OrderRow {
  id: string;
  userId: string;
  state: OrderStatus;
  lines: OrderItem[];
  totalMinor: number;
  currency: string;
  placedAt: Date;
  updatedAt: Date;
  cancelReason?: string | null;
}

// Aggregates have private constructors (they are created through factories such as
// Order.place); the ORM hydrates loaded rows without calling the constructor.
const asClass = <T>(cls: unknown) => cls as Constructor<T>;

export const UserSchema = new EntitySchema<UserRow>({
  class: asClass<UserRow>(User),
  tableName: 'users',
  properties: {
    id: primaryUuid(),
    email: varchar(254, { unique: 'users_email_unique' }),
    name: varchar(200),
    createdAt: timestamp(),
  },
});

export const ProductSchema = new EntitySchema<ProductRow>({
  class: asClass<ProductRow>(Product),
  tableName: 'products',
  properties: {
    id: primaryUuid(),
    sku: varchar(64, { unique: 'products_sku_unique' }),
    name: varchar(200),
    priceMinor: money({ fieldName: 'price_minor' }),
    currency: varchar(3, { columnType: 'char(3)' }),
    stockLevel: integer({ fieldName: 'stock' }),
    createdAt: timestamp(),
    updatedAt: timestamp(),
  },
  // A last line of defence under the domain rule: stock can never be stored below zero.
  checks: [{ name: 'products_stock_non_negative', expression: 'stock >= 0' }],
});

export const OrderSchema = new EntitySchema<OrderRow>({
  class: asClass<OrderRow>(Order),
  tableName: 'orders',
  properties: {
    id: primaryUuid(),
    userId: uuid(),
    state: varchar(16, { fieldName: 'status' }),
    // Order lines are value objects inside the aggregate, never loaded on their own: one JSONB
    // column keeps the aggregate one row (see docs/adr/0002-persistence.md).
    lines: json({ fieldName: 'items' }),
    totalMinor: money({ fieldName: 'total_minor' }),
    currency: varchar(3, { columnType: 'char(3)' }),
    placedAt: timestamp(),
    updatedAt: timestamp(),
    cancelReason: text({ nullable: true }),
  },
  indexes: [
    { name: 'orders_user_id_placed_at_index', properties: ['userId', 'placedAt'] },
    // The relay's expiry sweep reads the pending orders placed before a cutoff, oldest first
    // (docs/adr/0020-order-expiry-sweep.md); an order leaves the index when it leaves pending.
    {
      name: 'orders_pending_placed_at_index',
      expression: 'create index "orders_pending_placed_at_index" on "orders" ("placed_at", "id") where "status" = \'pending\'',
    },
  ],
});

export class OutboxMessage {
  id!: string;
  type!: string;
  aggregateType!: string;
  aggregateId!: string;
  payload!: Record<string, unknown>;
  occurredAt!: Date;
  publishedAt: Date | null = null;
  /** The command whose transaction wrote the row: logs lead from a command to its events. */
  commandId: string | null = null;
  /** W3C trace context (`traceparent`, `tracestate`) of the command job, when tracing is on. */
  traceContext: Record<string, string> | null = null;
}

export const OutboxMessageSchema = new EntitySchema<OutboxMessage>({
  class: OutboxMessage,
  tableName: 'outbox_messages',
  properties: {
    id: primaryUuid(),
    type: varchar(64),
    aggregateType: varchar(32),
    aggregateId: uuid(),
    payload: json(),
    occurredAt: timestamp(),
    publishedAt: timestamp({ nullable: true }),
    commandId: uuid({ nullable: true }),
    traceContext: json({ nullable: true }),
  },
  // The relay scans only unpublished rows, oldest (UUIDv7 = time order) first.
  indexes: [
    {
      name: 'outbox_messages_unpublished_index',
      expression: 'create index "outbox_messages_unpublished_index" on "outbox_messages" ("id") where "published_at" is null',
    },
    // Retention walks published rows, oldest first (docs/adr/0010-retention.md).
    {
      name: 'outbox_messages_published_index',
      expression:
        'create index "outbox_messages_published_index" on "outbox_messages" ("published_at", "id") where "published_at" is not null',
    },
  ],
});

/** `cancelled` is recorded by DELETE /v1/commands/:id for a command that had not started. */
export type CommandStatus = 'succeeded' | 'failed' | 'cancelled';

export class ProcessedCommand {
  commandId!: string;
  commandType!: string;
  status!: CommandStatus;
  result: unknown = null;
  error: { code: string; message: string } | null = null;
  processedAt!: Date;
  /** Which attempt of the command's job recorded the outcome; null before command triage or outside a job. */
  attempts: number | null = null;
  /** The command's ordering key (`order:<id>`, `user:<id>`, `product:<id>`); null likewise. */
  aggregateKey: string | null = null;
  /** The API key that sent the command (`api_keys.id`, or `env:<prefix>` for API_KEYS); null when unknown. */
  sentByKeyId: string | null = null;
  /** That key's name when the command was sent. */
  sentBy: string | null = null;
}

export const ProcessedCommandSchema = new EntitySchema<ProcessedCommand>({
  class: ProcessedCommand,
  tableName: 'processed_commands',
  properties: {
    commandId: primaryUuid(),
    commandType: varchar(64),
    status: varchar(16),
    result: json({ nullable: true }),
    error: json({ nullable: true }),
    processedAt: timestamp(),
    attempts: integer({ nullable: true }),
    aggregateKey: varchar(64, { nullable: true }),
    sentByKeyId: varchar(64, { nullable: true }),
    sentBy: varchar(100, { nullable: true }),
  },
  // Retention walks the oldest outcomes first (docs/adr/0010-retention.md); the command listing
  // walks them newest first. Failures have their own index, so a listing of failures does not
  // step over every success.
  indexes: [
    { name: 'processed_commands_processed_at_index', properties: ['processedAt', 'commandId'] },
    {
      name: 'processed_commands_failed_index',
      expression:
        'create index "processed_commands_failed_index" on "processed_commands" ("processed_at", "command_id") where "status" = \'failed\'',
    },
  ],
});

/**
 * A command whose job ran out of attempts on infrastructure errors: it has no outcome in
 * processed_commands (that row is the exactly-once record, and a retry must still be able to
 * apply the command). Written by the worker when the last attempt fails, or by the relay's
 * sweeper from BullMQ's failed set when PostgreSQL was down then. `payload` is the job's data,
 * for a retry whose job Redis no longer has; `retriedAt` is set when an operator retries it.
 */
export class GaveUpCommand {
  commandId!: string;
  commandType!: string;
  aggregateKey: string | null = null;
  payload!: Record<string, unknown>;
  error!: { code: string; message: string };
  attempts!: number;
  gaveUpAt!: Date;
  retriedAt: Date | null = null;
}

export const GaveUpCommandSchema = new EntitySchema<GaveUpCommand>({
  class: GaveUpCommand,
  tableName: 'gave_up_commands',
  properties: {
    commandId: primaryUuid(),
    commandType: varchar(64),
    aggregateKey: varchar(64, { nullable: true }),
    payload: json(),
    error: json(),
    attempts: integer(),
    gaveUpAt: timestamp(),
    retriedAt: timestamp({ nullable: true }),
  },
  indexes: [{ name: 'gave_up_commands_gave_up_at_index', properties: ['gaveUpAt', 'commandId'] }],
});

/**
 * A command accepted with Run-At, written by the web process at intake before its delayed job
 * is added: PostgreSQL keeps it so that the sweeper can add the job again if Redis loses it
 * (docs/adr/0008-scheduled-commands-cancellation-live-status.md). Rows of commands with an outcome are pruned.
 */
export class ScheduledCommand {
  commandId!: string;
  commandType!: string;
  payload!: unknown;
  runAt!: Date;
  createdAt!: Date;
  /** The API key that sent it (its id and name), restored with its job. */
  sentByKeyId: string | null = null;
  sentBy: string | null = null;
}

export const ScheduledCommandSchema = new EntitySchema<ScheduledCommand>({
  class: ScheduledCommand,
  tableName: 'scheduled_commands',
  properties: {
    commandId: primaryUuid(),
    commandType: varchar(64),
    payload: json(),
    runAt: timestamp({ index: 'scheduled_commands_run_at_index' }),
    createdAt: timestamp(),
    sentByKeyId: varchar(64, { nullable: true }),
    sentBy: varchar(100, { nullable: true }),
  },
});

export const entities = [
  UserSchema,
  ProductSchema,
  OrderSchema,
  OutboxMessageSchema,
  ProcessedCommandSchema,
  GaveUpCommandSchema,
  ScheduledCommandSchema,
  ...deliveryEntities,
  ...schedulingEntities,
  ...accessEntities,
];
