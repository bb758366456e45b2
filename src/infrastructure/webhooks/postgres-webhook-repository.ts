import type pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type {
  AttemptOutcome,
  DeliveryToSend,
  NewWebhookEndpoint,
  WebhookAttempt,
  WebhookDeliveryRepository,
  WebhookDeliveryStatus,
  WebhookDeliveryView,
  WebhookEndpoint,
  WebhookEndpointRepository,
} from '../../application/webhooks/ports.js';

// Plain SQL on the process's pg pool, one round trip each (the tables are mapped in
// delivery-schemas.ts for the migrations; they are records of work, not aggregates).
// While an attempt is being made, `attempt_id` / `attempt_started_at` name it (its claim):
// set by claimForSending, released by the statement that records the attempt, and checked by
// resetForReplay in the same UPDATE that resets the row. The management queries are written
// with `?` placeholders, numbered for pg by `positional`.

// An id that is not a UUID cannot name a row, and PostgreSQL would reject it as uuid input.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ENDPOINT_COLUMNS = 'id, url, event_types, enabled, disabled_reason, created_at, deleted_at';
const DELIVERY_COLUMNS = `id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at,
  last_status_code, last_error, created_at, delivered_at`;

/** SET clauses that release the claim of the attempt whose id is `$1`, and no other's. */
const RELEASE_CLAIM_OF_1 = `attempt_started_at = case when attempt_id = $1 then null else attempt_started_at end,
           attempt_id = case when attempt_id = $1 then null else attempt_id end`;

interface EndpointRow {
  id: string;
  url: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date | string;
  deleted_at: Date | string | null;
}

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: Date | string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date | string;
  delivered_at: Date | string | null;
}

interface AttemptRow {
  delivery_id: string;
  attempted_at: Date | string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
}

type SendingRow = Pick<DeliveryRow, 'id' | 'endpoint_id' | 'event_id' | 'event_type' | 'status' | 'attempts'> & {
  body: string;
  claimed: boolean;
  e_id: string | null;
  e_url: string | null;
  e_event_types: string[] | null;
  e_secret: string | null;
  e_enabled: boolean | null;
  e_disabled_reason: string | null;
  e_created_at: Date | string | null;
  e_deleted_at: Date | string | null;
};

/** Both webhook repositories on PostgreSQL. */
export class PostgresWebhookRepository implements WebhookEndpointRepository, WebhookDeliveryRepository {
  constructor(
    /** The process's pg pool (Infrastructure.pool). */
    private readonly pool: pg.Pool,
  ) {}

  private async rows<T extends pg.QueryResultRow>(query: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(positional(query), params)).rows;
  }

  private async affected(query: string, params: unknown[]): Promise<number> {
    return (await this.pool.query(positional(query), params)).rowCount ?? 0;
  }

  // ---- endpoints

  async add(endpoint: NewWebhookEndpoint): Promise<void> {
    await this.affected(
      `insert into webhook_endpoints (id, url, event_types, secret, enabled, created_at)
       values (?, ?, ?::jsonb, ?, true, ?)`,
      [endpoint.id, endpoint.url, JSON.stringify(endpoint.eventTypes), endpoint.secret, endpoint.createdAt],
    );
  }

  async list(): Promise<WebhookEndpoint[]> {
    const rows = await this.rows<EndpointRow>(
      `select ${ENDPOINT_COLUMNS} from webhook_endpoints where deleted_at is null order by created_at, id`,
    );
    return rows.map(toEndpoint);
  }

  async findById(id: string): Promise<WebhookEndpoint | null> {
    if (!UUID.test(id)) return null;
    const [row] = await this.rows<EndpointRow>(
      `select ${ENDPOINT_COLUMNS} from webhook_endpoints where id = ? and deleted_at is null`,
      [id],
    );
    return row ? toEndpoint(row) : null;
  }

  async softDelete(id: string, at: Date): Promise<boolean> {
    if (!UUID.test(id)) return false;
    return (await this.affected('update webhook_endpoints set deleted_at = ? where id = ? and deleted_at is null', [at, id])) > 0;
  }

  async listDeliveries(
    endpointId: string,
    filter: { status?: WebhookDeliveryStatus | undefined; limit: number },
  ): Promise<WebhookDeliveryView[]> {
    if (!UUID.test(endpointId)) return [];
    const deliveries = await this.rows<DeliveryRow>(
      `select ${DELIVERY_COLUMNS} from webhook_deliveries
       where endpoint_id = ? ${filter.status ? 'and status = ?' : ''}
       order by created_at desc, id desc limit ?`,
      filter.status ? [endpointId, filter.status, filter.limit] : [endpointId, filter.limit],
    );
    if (deliveries.length === 0) return [];
    const attempts = await this.rows<AttemptRow>(
      `select delivery_id, attempted_at, status_code, duration_ms, error from webhook_delivery_attempts
       where delivery_id in (${deliveries.map(() => '?').join(', ')})
       order by attempted_at, id`,
      deliveries.map((delivery) => delivery.id),
    );
    const byDelivery = new Map<string, WebhookAttempt[]>();
    for (const row of attempts) {
      const list = byDelivery.get(row.delivery_id) ?? [];
      list.push({ attemptedAt: toDate(row.attempted_at), statusCode: row.status_code, durationMs: row.duration_ms, error: row.error });
      byDelivery.set(row.delivery_id, list);
    }
    return deliveries.map((row) => ({
      id: row.id,
      endpointId: row.endpoint_id,
      eventId: row.event_id,
      eventType: row.event_type,
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: row.status === 'pending' ? toDateOrNull(row.next_attempt_at) : null,
      lastStatusCode: row.last_status_code,
      lastError: row.last_error,
      createdAt: toDate(row.created_at),
      deliveredAt: toDateOrNull(row.delivered_at),
      attemptLog: byDelivery.get(row.id) ?? [],
    }));
  }

  // ---- deliveries

  async claimForSending(deliveryId: string, startedAt: Date): Promise<DeliveryToSend | null> {
    if (!UUID.test(deliveryId)) return null;
    const attemptId = uuidv7();
    // The claim re-checks `pending` on the latest row version; the select reads the statement's
    // snapshot, so `claimed`, not the status read, says whether there is something to send.
    const {
      rows: [row],
    } = await this.pool.query<SendingRow>(
      `with claim as (
         update webhook_deliveries set attempt_id = $2, attempt_started_at = $3
         where id = $1 and status = 'pending'
         returning id
       )
       select d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.body,
         exists (select 1 from claim) as claimed,
         e.id as e_id, e.url as e_url, e.event_types as e_event_types, e.secret as e_secret,
         e.enabled as e_enabled, e.disabled_reason as e_disabled_reason,
         e.created_at as e_created_at, e.deleted_at as e_deleted_at
       from webhook_deliveries d left join webhook_endpoints e on e.id = d.endpoint_id
       where d.id = $1`,
      [deliveryId, attemptId, startedAt],
    );
    if (!row) return null;
    const delivery = {
      id: row.id,
      endpointId: row.endpoint_id,
      eventId: row.event_id,
      eventType: row.event_type,
      body: row.body,
      status: row.status,
      attempts: row.attempts,
    };
    const claim = { attemptId: row.claimed ? attemptId : null };
    if (row.e_id === null || row.e_url === null || row.e_secret === null || row.e_created_at === null) {
      return { delivery, endpoint: null, ...claim };
    }
    return {
      delivery,
      ...claim,
      endpoint: {
        id: row.e_id,
        url: row.e_url,
        eventTypes: row.e_event_types ?? [],
        secret: row.e_secret,
        enabled: row.e_enabled ?? false,
        disabledReason: row.e_disabled_reason,
        createdAt: toDate(row.e_created_at),
        deletedAt: toDateOrNull(row.e_deleted_at),
      },
    };
  }

  async recordAttempt(outcome: AttemptOutcome): Promise<boolean> {
    const { attempt } = outcome;
    // One statement, so one implicit transaction: the attempt is logged; the delivery takes its
    // new state while it is still pending (`updated`, re-checked on the latest row version if
    // a concurrent job changed it), or else (a duplicate job settled it meanwhile: its outcome
    // stands) only counts the attempt (`counted`, which runs only when `updated` matched
    // nothing, so the row is never updated twice); on 410 the endpoint is disabled either way.
    // Both release this attempt's claim ($1), unless a duplicate job has claimed the row since.
    const { rows } = await this.pool.query<{ recorded: boolean }>(
      `with attempt as (
         insert into webhook_delivery_attempts (id, delivery_id, attempted_at, status_code, duration_ms, error)
         values ($1, $2, $3, $4::int, $5, $6::text)
       ), updated as (
         update webhook_deliveries set attempts = attempts + 1, status = $7, next_attempt_at = $8,
           last_status_code = $4::int, last_error = $6::text, delivered_at = coalesce($9, delivered_at),
           ${RELEASE_CLAIM_OF_1}
         where id = $2 and status = 'pending'
         returning id
       ), counted as (
         update webhook_deliveries set attempts = attempts + 1, ${RELEASE_CLAIM_OF_1}
         where id = $2 and not exists (select 1 from updated)
       ), disabled as (
         update webhook_endpoints set enabled = false, disabled_reason = $10
         where id = $11 and enabled
       )
       select exists (select 1 from updated) as recorded`,
      [
        outcome.attemptId,
        outcome.deliveryId,
        attempt.attemptedAt,
        attempt.statusCode,
        attempt.durationMs,
        attempt.error,
        outcome.status,
        outcome.nextAttemptAt,
        outcome.deliveredAt,
        outcome.disableEndpoint?.reason ?? null,
        outcome.disableEndpoint?.endpointId ?? null,
      ],
    );
    return rows[0]?.recorded === true;
  }

  async findDelivery(deliveryId: string): Promise<{ id: string; endpointId: string; status: WebhookDeliveryStatus } | null> {
    if (!UUID.test(deliveryId)) return null;
    const [row] = await this.rows<Pick<DeliveryRow, 'id' | 'endpoint_id' | 'status'>>(
      'select id, endpoint_id, status from webhook_deliveries where id = ?',
      [deliveryId],
    );
    return row ? { id: row.id, endpointId: row.endpoint_id, status: row.status } : null;
  }

  async failWithoutAttempt(deliveryId: string, attemptId: string, reason: string): Promise<void> {
    await this.pool.query(
      `update webhook_deliveries set ${RELEASE_CLAIM_OF_1},
         status = case when status = 'pending' then 'failed' else status end,
         last_error = case when status = 'pending' then $2 else last_error end,
         next_attempt_at = case when status = 'pending' then null else next_attempt_at end
       where id = $3`,
      [attemptId, reason, deliveryId],
    );
  }

  async resetForReplay(deliveryId: string, now: Date, claimsSince: Date): Promise<boolean> {
    if (!UUID.test(deliveryId)) return false;
    // The check and the reset in one statement: an attempt that claims the row first makes
    // this update match nothing; one that claims it after finds it reset (its send is the
    // replay's). A claim older than `claimsSince` was left by a worker that died.
    const rows = await this.rows<{ id: string }>(
      `update webhook_deliveries set status = 'pending', next_attempt_at = ?, delivered_at = null,
         attempt_id = null, attempt_started_at = null
       where id = ? and (attempt_id is null or attempt_started_at < ?)
       returning id`,
      [now, deliveryId, claimsSince],
    );
    return rows.length > 0;
  }
}

/** `?` placeholders as pg's `$1`, `$2`, … (the statements here hold no `?` of their own). */
function positional(query: string): string {
  let n = 0;
  return query.replace(/\?/g, () => `$${++n}`);
}

function toEndpoint(row: EndpointRow): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    eventTypes: row.event_types,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    createdAt: toDate(row.created_at),
    deletedAt: toDateOrNull(row.deleted_at),
  };
}

function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

function toDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}
