import type pg from 'pg';
import { uuidv7 } from '../ids.js';
import type {
  AttemptOutcome,
  DeliveryToSend,
  NewWebhookDelivery,
  NewWebhookEndpoint,
  ReplayFilter,
  SigningSecrets,
  UnreadableSigningSecrets,
  WebhookAttempt,
  WebhookDeliveryRepository,
  WebhookDeliveryStatus,
  WebhookDeliveryView,
  WebhookEndpoint,
  WebhookEndpointChanges,
  WebhookEndpointRepository,
} from '../../application/webhooks/ports.js';
import { preparedStatement } from '../persistence/prepared-statement.js';
import { SecretUnreadableError, type SecretPlace, type WebhookSecretCipher } from './secret-cipher.js';

// Plain SQL on the process's pg pool, one round trip each (the tables are mapped in
// delivery-schemas.ts for the migrations; they are records of work, not aggregates).
// While an attempt is being made, `attempt_id` / `attempt_started_at` name it (its claim):
// set by claimForSending, released by the statement that records the attempt, and checked by
// resetForReplay in the same UPDATE that resets the row. The management queries are written
// with `?` placeholders, numbered for pg by `positional`.
// Secrets are read and written here only (claimForSending, add, rotateSecret) and by the
// re-encryption (reencrypt-secrets.ts), always through the cipher: encrypted at rest, bound to
// their row and column (docs/adr/0015-webhook-secrets-at-rest.md).

// An id that is not a UUID cannot name a row, and PostgreSQL would reject it as uuid input.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ENDPOINT_COLUMNS = `id, url, event_types, enabled, disabled_reason, disabled_at, failing_since,
  previous_secret_expires_at, delivery_rate, created_at, deleted_at`;
const DELIVERY_COLUMNS = `id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at,
  last_status_code, last_error, created_at, delivered_at`;

/** SET clauses that release the claim of the attempt whose id is `$1`, and no other's. */
const RELEASE_CLAIM_OF_1 = `attempt_started_at = case when attempt_id = $1 then null else attempt_started_at end,
           attempt_id = case when attempt_id = $1 then null else attempt_id end`;

/** In recordAttempt's endpoint update: whether this attempt disables the endpoint. */
const DISABLING = `(enabled and $10::text is not null and ($14::timestamptz is null or failing_since <= $14))`;

// The statements of an attempt, run once or twice per delivery: prepared, so PostgreSQL plans
// each once per connection (docs/adr/0018-prepared-statements.md).
const CLAIM_FOR_SENDING = preparedStatement(`with claim as (
   update webhook_deliveries set attempt_id = $2, attempt_started_at = $3
   where id = $1 and status = 'pending'
   returning id
 )
 select d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.body,
   exists (select 1 from claim) as claimed,
   (select to_jsonb(e) from webhook_endpoints e where e.id = d.endpoint_id) as endpoint
 from webhook_deliveries d
 where d.id = $1`);
const RECORD_ATTEMPT = preparedStatement(`with attempt as (
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
 ), endpoint as (
   update webhook_endpoints set
     failing_since = case when $12::boolean then null else coalesce(failing_since, $3) end,
     disabled_reason = case when ${DISABLING} then $10::text else disabled_reason end,
     disabled_at = case when ${DISABLING} then $13::timestamptz else disabled_at end,
     enabled = enabled and not ${DISABLING}
   where id = $11 and (${DISABLING} or (case when $12::boolean then failing_since is not null else failing_since is null end))
 )
 select exists (select 1 from updated) as recorded`);
const FAIL_WITHOUT_ATTEMPT = preparedStatement(`update webhook_deliveries set ${RELEASE_CLAIM_OF_1},
   status = case when status = 'pending' then 'failed' else status end,
   last_error = case when status = 'pending' then $2 else last_error end,
   next_attempt_at = case when status = 'pending' then null else next_attempt_at end
 where id = $3`);
const POSTPONE_ATTEMPT = preparedStatement(`update webhook_deliveries set ${RELEASE_CLAIM_OF_1},
   next_attempt_at = case when status = 'pending' then $2 else next_attempt_at end
 where id = $3`);

interface EndpointRow {
  id: string;
  url: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | string | null;
  failing_since: Date | string | null;
  previous_secret_expires_at: Date | string | null;
  delivery_rate: number | null;
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

/** A delivery as an attempt reads it: its row, whether this attempt claimed it, and its endpoint. */
export type SendingRow = Pick<DeliveryRow, 'id' | 'endpoint_id' | 'event_id' | 'event_type' | 'status' | 'attempts'> & {
  body: string;
  claimed: boolean;
  /** The endpoint's columns, as `to_jsonb` of its row gives them (null when its row is gone). */
  endpoint: (EndpointRow & { secret: string; previous_secret: string | null }) | null;
};

/** Both webhook repositories on PostgreSQL. */
export class PostgresWebhookRepository implements WebhookEndpointRepository, WebhookDeliveryRepository {
  constructor(
    /** The process's pg pool (Infrastructure.pool). */
    private readonly pool: pg.Pool,
    /** Encrypts the secrets written and decrypts those read (WEBHOOK_SECRET_KEYS). */
    private readonly cipher: WebhookSecretCipher,
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
      `insert into webhook_endpoints (id, url, event_types, secret, enabled, delivery_rate, created_at)
       values (?, ?, ?::jsonb, ?, true, ?, ?)`,
      [
        endpoint.id,
        endpoint.url,
        JSON.stringify(endpoint.eventTypes),
        this.cipher.seal(endpoint.secret, { endpointId: endpoint.id, column: 'secret' }),
        endpoint.deliveryRate,
        endpoint.createdAt,
      ],
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

  async update(id: string, changes: WebhookEndpointChanges, at: Date): Promise<WebhookEndpoint | null> {
    if (!UUID.test(id)) return null;
    // Only the columns asked for change, in one statement, so a concurrent 410 or
    // WEBHOOK_DISABLE_AFTER is not overwritten by values read earlier. In SET, `enabled` and the
    // other columns are the row's values before this update.
    const [row] = await this.rows<EndpointRow>(
      `update webhook_endpoints set
         url = coalesce($1::text, url),
         event_types = coalesce($2::jsonb, event_types),
         disabled_reason = case when $3::boolean then null when enabled and $4::text is not null then $4::text else disabled_reason end,
         disabled_at = case when $3::boolean then null when enabled and $4::text is not null then $5::timestamptz else disabled_at end,
         failing_since = case when $3::boolean and not enabled then null else failing_since end,
         enabled = case when $3::boolean then true when $4::text is not null then false else enabled end,
         delivery_rate = case when $7::boolean then $8::double precision else delivery_rate end
       where id = $6 and deleted_at is null
       returning ${ENDPOINT_COLUMNS}`,
      [
        changes.url ?? null,
        changes.eventTypes === undefined ? null : JSON.stringify(changes.eventTypes),
        changes.enable === true,
        changes.disable?.reason ?? null,
        at,
        id,
        changes.deliveryRate !== undefined,
        changes.deliveryRate ?? null,
      ],
    );
    return row ? toEndpoint(row) : null;
  }

  async rotateSecret(id: string, secret: string, previousExpiresAt: Date): Promise<boolean> {
    if (!UUID.test(id)) return false;
    // The current secret moves to previous_secret, so it is decrypted and encrypted again for
    // that column (the column is part of what its ciphertext is bound to). The update applies
    // only if the secret is still the one read: a concurrent rotation (or re-encryption) that
    // wrote first makes it match nothing, and this one reads again and rotates what it wrote.
    for (let tries = 0; tries < 10; tries++) {
      const [row] = await this.rows<{ secret: string }>('select secret from webhook_endpoints where id = ? and deleted_at is null', [id]);
      if (!row) return false;
      // A current secret that cannot be read cannot sign during the overlap either: dropped.
      const previous = this.openOrNull(row.secret, { endpointId: id, column: 'secret' });
      const updated = await this.affected(
        `update webhook_endpoints set previous_secret = ?, previous_secret_expires_at = ?, secret = ?
         where id = ? and deleted_at is null and secret = ?`,
        [
          previous === null ? null : this.cipher.seal(previous, { endpointId: id, column: 'previous_secret' }),
          previous === null ? null : previousExpiresAt,
          this.cipher.seal(secret, { endpointId: id, column: 'secret' }),
          id,
          row.secret,
        ],
      );
      if (updated > 0) return true;
    }
    throw new Error(`webhook endpoint ${id}: its secret kept changing while it was being rotated`);
  }

  private openOrNull(stored: string, place: SecretPlace): string | null {
    try {
      return this.cipher.open(stored, place);
    } catch (error) {
      if (error instanceof SecretUnreadableError) return null;
      throw error;
    }
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
    } = await this.pool.query<SendingRow>(CLAIM_FOR_SENDING.with([deliveryId, attemptId, startedAt]));
    return row ? this.toSend(row, attemptId, startedAt) : null;
  }

  /**
   * What an attempt needs, from a delivery as it was read with its endpoint: by
   * `claimForSending`, or by the statement that created the row already claimed for
   * `attemptId` (the relay's first attempt, docs/adr/0024-relay-first-attempt.md). The
   * endpoint's secrets are decrypted here, as for every attempt.
   */
  toSend(row: SendingRow, attemptId: string, startedAt: Date): DeliveryToSend {
    const delivery = {
      id: row.id,
      endpointId: row.endpoint_id,
      eventId: row.event_id,
      eventType: row.event_type,
      body: row.body,
      status: row.status,
      attempts: row.attempts,
    };
    const attempt = { attemptId: row.claimed ? attemptId : null };
    const e = row.endpoint;
    if (e === null) return { delivery, endpoint: null, ...attempt };
    return { delivery, ...attempt, endpoint: { ...toEndpoint(e), secrets: this.signingSecrets(e, startedAt) } };
  }

  /**
   * The endpoint's secrets decrypted, or why they cannot be. A previous secret whose overlap
   * ended by `at` signs nothing any more, so it is not decrypted.
   */
  private signingSecrets(
    e: EndpointRow & { secret: string; previous_secret: string | null },
    at: Date,
  ): SigningSecrets | UnreadableSigningSecrets {
    try {
      const current = this.cipher.open(e.secret, { endpointId: e.id, column: 'secret' });
      const previous =
        e.previous_secret !== null && e.previous_secret_expires_at !== null && toDate(e.previous_secret_expires_at) > at
          ? {
              secret: this.cipher.open(e.previous_secret, { endpointId: e.id, column: 'previous_secret' }),
              expiresAt: toDate(e.previous_secret_expires_at),
            }
          : null;
      return { current, previous };
    } catch (error) {
      if (error instanceof SecretUnreadableError) return { unreadable: error.message };
      throw error;
    }
  }

  async recordAttempt(outcome: AttemptOutcome): Promise<boolean> {
    const { attempt } = outcome;
    // One statement, so one implicit transaction: the attempt is logged; the delivery takes its
    // new state while it is still pending (`updated`, re-checked on the latest row version if
    // a concurrent job changed it), or else (a duplicate job settled it meanwhile: its outcome
    // stands) only counts the attempt (`counted`, which runs only when `updated` matched
    // nothing, so the row is never updated twice). Both release this attempt's claim ($1),
    // unless a duplicate job has claimed the row since. `endpoint` ends (2xx) or starts (the
    // first failure) the endpoint's failing streak and disables it if asked; it touches the
    // row only when something changes, so a healthy endpoint's row is not written per attempt.
    // In its SET, `enabled` and `failing_since` are the row's values before the update.
    const { rows } = await this.pool.query<{ recorded: boolean }>(
      RECORD_ATTEMPT.with([
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
        // No endpoint (nothing was sent): `where id = null` leaves every endpoint as it is.
        outcome.endpoint?.id ?? null,
        outcome.endpoint?.succeeded ?? false,
        outcome.disableEndpoint?.at ?? null,
        outcome.disableEndpoint?.ifFailingSinceBy ?? null,
      ]),
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
    await this.pool.query(FAIL_WITHOUT_ATTEMPT.with([attemptId, reason, deliveryId]));
  }

  async postponeAttempt(deliveryId: string, attemptId: string, nextAttemptAt: Date): Promise<void> {
    // Only a pending row's due time moves; one a duplicate job settled meanwhile keeps its state.
    await this.pool.query(POSTPONE_ATTEMPT.with([attemptId, nextAttemptAt, deliveryId]));
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

  async resetManyForReplay(filter: ReplayFilter, now: Date, claimsSince: Date): Promise<string[]> {
    if (!UUID.test(filter.endpointId)) return [];
    // resetForReplay's statement for every matching row at once. Two calls at the same time:
    // the second waits for the row locks of the first, re-checks its WHERE on the rows the
    // first reset (now pending) and leaves them out, so each delivery is returned once.
    const rows = await this.rows<{ id: string }>(
      `update webhook_deliveries set status = 'pending', next_attempt_at = ?, delivered_at = null,
         attempt_id = null, attempt_started_at = null
       where endpoint_id = ? and status = ? and created_at >= ?
         and (attempt_id is null or attempt_started_at < ?)
       returning id`,
      [now, filter.endpointId, filter.status, filter.since, claimsSince],
    );
    return rows.map((row) => row.id);
  }

  async addDelivery(delivery: NewWebhookDelivery): Promise<void> {
    await this.affected(
      `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, created_at)
       values (?, ?, ?, ?, ?, 'pending', 0, ?)`,
      [delivery.id, delivery.endpointId, delivery.eventId, delivery.eventType, delivery.body, delivery.createdAt],
    );
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
    disabledAt: toDateOrNull(row.disabled_at),
    failingSince: toDateOrNull(row.failing_since),
    previousSecretExpiresAt: toDateOrNull(row.previous_secret_expires_at),
    deliveryRate: row.delivery_rate,
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
