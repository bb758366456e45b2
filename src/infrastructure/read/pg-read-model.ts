import pg from 'pg';
import type {
  MoneyDto,
  OrderDto,
  OrderItemDto,
  OrderSummaryDto,
  Page,
  ProcessedCommandDto,
  ProductDto,
  ReadModel,
  ScheduledCommandDto,
} from '../../application/commerce/queries/read-model.js';
import { formatMinor, ORDER_STATUSES, type OrderStatus } from '../../domain/index.js';
import { reportCheckedOutErrors } from '../persistence/pool-errors.js';

/** The largest page `listUserOrders` serves (docs/design.md §3: pageSize ≤ 100). */
export const MAX_PAGE_SIZE = 100;

export interface ReadPoolOptions {
  /**
   * Open every session with `default_transaction_read_only=on`, so a write through the query
   * side fails instead of landing on the primary. Default true. Turn it off behind a pooler
   * that refuses startup options (PgBouncer without `ignore_startup_parameters`).
   */
  readOnly?: boolean;
  /** Server-side `statement_timeout` in milliseconds; a read that runs longer is cancelled. Default 10 000. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection before a query fails, in milliseconds. Default 5 000. */
  connectionTimeoutMs?: number;
  /**
   * Called when an idle connection fails (server restart, network drop). pg drops the broken
   * connection and the next query opens a new one; without a listener the error would crash
   * the process. Pass the logger here; the default ignores it.
   */
  onError?: (error: Error) => void;
}

/**
 * A pg pool for the query side, built from `DATABASE_READ_URL ?? DATABASE_URL` by the
 * composition root. `max` is the number of connections (about the web process's concurrent
 * reads); the caller ends the pool on shutdown.
 */
export function createReadPool(url: string, max = 10, options: ReadPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    // As every role's connections: a name in the URL (`?application_name=`) or PGAPPNAME wins.
    fallback_application_name: 'conveyor-read',
    ...((options.readOnly ?? true) ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  const onError = options.onError ?? (() => undefined);
  pool.on('error', onError);
  reportCheckedOutErrors(pool, onError);
  return pool;
}

// Ids are UUIDs; anything else cannot name a row, and PostgreSQL would reject it as uuid input.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Money columns are bigint and sums are numeric: both are selected as text and never pass
// through a float. Timestamps arrive as Date (pg's default parser for timestamptz).
const ORDER_COLUMNS = `o.id, o.user_id, o.status, o.items, o.total_minor::text as total_minor, o.currency,
  o.placed_at, o.updated_at, o.cancel_reason`;

const FIND_ORDER = `select ${ORDER_COLUMNS} from orders o where o.id = $1`;

// One statement, so the page and the total come from one snapshot. The count is the outer row
// and the page is left-joined onto it: a page past the end still returns one row carrying the
// total (with null order columns). Both parts use orders_user_id_placed_at_index.
const LIST_USER_ORDERS = `select n.total, ${ORDER_COLUMNS}
  from (select count(*)::int as total from orders where user_id = $1) n
  left join (
    select * from orders where user_id = $1
    order by placed_at desc, id desc
    limit $2 offset $3
  ) o on true
  order by o.placed_at desc, o.id desc`;

// The average is round-half-up(spent / orders) in integer arithmetic:
// floor((2·spent + n) / (2·n)); all operands are non-negative, so div() (which truncates) is floor.
// A user's orders may be in several currencies (each order has one; products choose theirs), and
// amounts in different currencies cannot be added. The summary is that of the currency with the
// most counted orders in the range (ties: the alphabetically first code); orders in the other
// currencies are not in it.
const USER_ORDER_SUMMARY = `select currency, count(*)::int as orders, sum(total_minor)::text as spent,
    div(sum(total_minor) * 2 + count(*), count(*) * 2)::text as average
  from orders
  where user_id = $1 and status <> 'cancelled'
    and placed_at >= coalesce($2::timestamptz, '-infinity') and placed_at < coalesce($3::timestamptz, 'infinity')
  group by currency
  order by count(*) desc, currency
  limit 1`;

const FIND_PRODUCT = `select id, sku, name, price_minor::text as price_minor, currency, stock, created_at, updated_at
  from products where id = $1`;

const FIND_SCHEDULED_COMMAND = 'select command_id, command_type, run_at from scheduled_commands where command_id = $1';

const FIND_PROCESSED_COMMAND = `select command_id, command_type, status, result, error, processed_at, sent_by
  from processed_commands where command_id = $1`;

interface OrderRow {
  id: string;
  user_id: string;
  status: string;
  items: unknown;
  total_minor: string;
  currency: string;
  placed_at: Date;
  updated_at: Date;
  cancel_reason: string | null;
}

// A page past the end is the total alone, with every order column null.
type PageRow = { total: number } & (OrderRow | { [K in keyof OrderRow]: null });

interface SummaryRow {
  currency: string;
  orders: number;
  spent: string;
  average: string;
}

interface ProductRow {
  id: string;
  sku: string;
  name: string;
  price_minor: string;
  currency: string;
  stock: number;
  created_at: Date;
  updated_at: Date;
}

interface ProcessedCommandRow {
  command_id: string;
  command_type: string;
  status: string;
  result: unknown;
  error: unknown;
  processed_at: Date;
  sent_by: string | null;
}

/**
 * The query side on PostgreSQL: plain parameterised SQL, one round trip per method, rows
 * mapped straight to the DTOs of the HTTP answers. Works against the primary or a replica.
 */
export class PgReadModel implements ReadModel {
  constructor(private readonly pool: pg.Pool) {}

  async findOrder(orderId: string): Promise<OrderDto | null> {
    if (!UUID.test(orderId)) return null;
    const { rows } = await this.pool.query<OrderRow>(FIND_ORDER, [orderId]);
    const row = rows[0];
    return row ? toOrder(row) : null;
  }

  /** Newest first (placed_at desc, then id desc); `page` counts from 1. */
  async listUserOrders(userId: string, page: number, pageSize: number): Promise<Page<OrderDto>> {
    if (!Number.isSafeInteger(page) || page < 1) throw new RangeError(`page must be a whole number ≥ 1, got ${page}`);
    if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new RangeError(`pageSize must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${pageSize}`);
    }
    if (!UUID.test(userId)) return { items: [], total: 0, page, pageSize };
    const offset = (page - 1) * pageSize;
    const { rows } = await this.pool.query<PageRow>(LIST_USER_ORDERS, [userId, pageSize, offset]);
    const items: OrderDto[] = [];
    for (const row of rows) if (row.id !== null) items.push(toOrder(row));
    return { items, total: rows[0]?.total ?? 0, page, pageSize };
  }

  /**
   * Orders placed in [from, to) (an open end when null), cancelled orders excluded, in the
   * user's most-used currency in that range (see USER_ORDER_SUMMARY). With no such order:
   * zeros as "0" and a null currency, since there is no currency to format them in.
   */
  async userOrderSummary(userId: string, from: Date | null, to: Date | null): Promise<OrderSummaryDto> {
    for (const bound of [from, to]) {
      if (bound && Number.isNaN(bound.getTime())) throw new RangeError('summary bounds must be valid dates');
    }
    const none: OrderSummaryDto = { totalOrders: 0, totalSpent: '0', averageOrderValue: '0', currency: null };
    if (!UUID.test(userId)) return none;
    const { rows } = await this.pool.query<SummaryRow>(USER_ORDER_SUMMARY, [userId, from, to]);
    const row = rows[0];
    if (!row) return none;
    const currency = row.currency;
    return {
      totalOrders: row.orders,
      totalSpent: formatMinor(minorUnits(row.spent), currency),
      averageOrderValue: formatMinor(minorUnits(row.average), currency),
      currency,
    };
  }

  async findProduct(productId: string): Promise<ProductDto | null> {
    if (!UUID.test(productId)) return null;
    const { rows } = await this.pool.query<ProductRow>(FIND_PRODUCT, [productId]);
    const row = rows[0];
    if (!row) return null;
    return {
      productId: row.id,
      sku: row.sku,
      name: row.name,
      price: money(minorUnits(row.price_minor), row.currency),
      stock: row.stock,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    };
  }

  async findProcessedCommand(commandId: string): Promise<ProcessedCommandDto | null> {
    if (!UUID.test(commandId)) return null;
    const { rows } = await this.pool.query<ProcessedCommandRow>(FIND_PROCESSED_COMMAND, [commandId]);
    const row = rows[0];
    if (!row) return null;
    if (row.status !== 'succeeded' && row.status !== 'failed' && row.status !== 'cancelled') {
      throw new Error(`processed command ${row.command_id} has unknown status "${row.status}"`);
    }
    return {
      commandId: row.command_id,
      type: row.command_type,
      status: row.status,
      result: row.result ?? null,
      error: toCommandError(row.error),
      processedAt: iso(row.processed_at),
      sentBy: row.sent_by,
    };
  }

  async findScheduledCommand(commandId: string): Promise<ScheduledCommandDto | null> {
    if (!UUID.test(commandId)) return null;
    const { rows } = await this.pool.query<{ command_id: string; command_type: string; run_at: Date }>(FIND_SCHEDULED_COMMAND, [
      commandId,
    ]);
    const row = rows[0];
    return row ? { commandId: row.command_id, type: row.command_type, runAt: iso(row.run_at) } : null;
  }
}

function toOrder(row: OrderRow): OrderDto {
  const currency = row.currency;
  return {
    orderId: row.id,
    userId: row.user_id,
    status: orderStatus(row.status, row.id),
    items: toItems(row.items, currency, row.id),
    total: money(minorUnits(row.total_minor), currency),
    cancellationReason: row.cancel_reason,
    placedAt: iso(row.placed_at),
    updatedAt: iso(row.updated_at),
  };
}

function orderStatus(value: string, orderId: string): OrderStatus {
  const status = ORDER_STATUSES.find((known) => known === value);
  if (!status) throw new Error(`order ${orderId} has unknown status "${value}"`);
  return status;
}

// The items column is JSONB written by the command side (OrderItem: productId, sku, name,
// quantity, unitPriceMinor). It is checked rather than cast: a malformed row is a bug to
// surface, not an answer to serve.
function toItems(value: unknown, currency: string, orderId: string): OrderItemDto[] {
  if (!Array.isArray(value)) throw new Error(`order ${orderId} has malformed items`);
  return value.map((item: unknown) => {
    if (typeof item !== 'object' || item === null) throw new Error(`order ${orderId} has a malformed item`);
    const { productId, sku, name, quantity, unitPriceMinor } = item as Record<string, unknown>;
    if (
      typeof productId !== 'string' ||
      typeof sku !== 'string' ||
      typeof name !== 'string' ||
      typeof quantity !== 'number' ||
      typeof unitPriceMinor !== 'number'
    ) {
      throw new Error(`order ${orderId} has a malformed item`);
    }
    // Both factors are integers; a product that is a safe integer was computed exactly.
    const lineMinor = unitPriceMinor * quantity;
    if (!Number.isSafeInteger(lineMinor)) throw new RangeError(`order ${orderId}: line total out of range`);
    return {
      productId,
      sku,
      name,
      quantity,
      unitPrice: money(unitPriceMinor, currency),
      lineTotal: money(lineMinor, currency),
    };
  });
}

function toCommandError(value: unknown): { code: string; message: string } | null {
  if (value === null || value === undefined) return null;
  const { code, message } = value as Record<string, unknown>;
  return { code: typeof code === 'string' ? code : 'failed', message: typeof message === 'string' ? message : '' };
}

function money(minor: number, currency: string): MoneyDto {
  return { amount: formatMinor(minor, currency), currency };
}

/** A bigint/numeric column selected as text, as an exact number of minor units. */
function minorUnits(text: string): number {
  const value = Number(text);
  // formatMinor takes a number: refuse rather than round an amount beyond 2^53 minor units.
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(value)) throw new RangeError(`amount ${text} is out of range`);
  return value;
}

function iso(value: Date | string): string {
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
