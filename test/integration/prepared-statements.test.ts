// The mailer's and the webhooks worker's per-job statements are prepared (ADR 0018): each
// connection parses them once, and from the sixth execution PostgreSQL may run a generic plan.
// What the jobs see must not change across that switch: every email and every delivery below
// is claimed, recorded and answered exactly as the first one, on one connection, well past the
// five custom plans; and the statements the connection holds are ours, executed that often.
// Whether PostgreSQL keeps the generic plan is its cost estimate's call, so the second half of
// the rounds forces it (`plan_cache_mode`): both kinds of plan run, whatever the planner thinks.
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqlEmailMessageStore } from '../../src/infrastructure/mail/email-message-store.js';
import { PostgresWebhookRepository } from '../../src/infrastructure/webhooks/postgres-webhook-repository.js';
import { pipeliningPoolConfig } from '../../src/infrastructure/persistence/pipelining-pool.js';
import { testSecretCipher } from '../support/config.js';
import { closingPool } from '../support/database.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';

const ROUNDS = 8;

let db: OrmFixture;
/**
 * One connection, so everything below runs on the same backend and its prepared statements:
 * a pipelining one as the mailer's pool, a plain one as the webhooks worker's.
 */
let single: pg.Pool;
let plainSingle: pg.Pool;
/** Ends both pools, once their connections have closed (closingPool). */
let endPools: () => Promise<unknown>;

beforeAll(async () => {
  db = await ormOnFreshDatabase();
  const pipelining = closingPool(pipeliningPoolConfig({ connectionString: db.url, max: 1 }));
  const plain = closingPool({ connectionString: db.url, max: 1 });
  single = pipelining.pool;
  plainSingle = plain.pool;
  endPools = () => Promise.all([pipelining.end(), plain.end()]);
});

afterAll(async () => {
  await endPools();
  await db.close();
});

afterEach(async () => {
  await Promise.all([single.query('reset plan_cache_mode'), plainSingle.query('reset plan_cache_mode')]);
});

/** From the round after half of them, the connection runs its prepared statements on generic plans only. */
async function forceGenericPlansFrom(pool: pg.Pool, round: number): Promise<void> {
  if (round === ROUNDS / 2 + 1) await pool.query('set plan_cache_mode = force_generic_plan');
}

/** The prepared statements of a single-connection pool: name → times run on a generic and on a custom plan. */
async function preparedOnConnection(pool: pg.Pool): Promise<Map<string, { generic: number; custom: number; statement: string }>> {
  const { rows } = await pool.query<{ name: string; generic_plans: string; custom_plans: string; statement: string }>(
    'select name, generic_plans, custom_plans, statement from pg_prepared_statements',
  );
  return new Map(rows.map((row) => [row.name, { generic: Number(row.generic_plans), custom: Number(row.custom_plans), statement: row.statement }]));
}

async function insertEmail(): Promise<string> {
  const id = newId();
  await db.sql(
    `insert into email_messages (id, event_id, template, to_address, message_id, status, attempts, created_at)
     values (?, ?, 'order-confirmation', ?, ?, 'pending', 0, now())`,
    [id, newId(), `buyer-${id.slice(-6)}@example.com`, `<${id}@conveyor.local>`],
  );
  return id;
}

describe('prepared statements', () => {
  it('the email claim and outcome answer the same before and after PostgreSQL switches to a generic plan', async () => {
    const store = new SqlEmailMessageStore(single);
    for (let round = 1; round <= ROUNDS; round++) {
      await forceGenericPlansFrom(single, round);
      const emailId = await insertEmail();
      const sent = await store.withPendingEmail(emailId, async (email, record) => {
        await record.sent(`250 queued as Q${round}`, `subject ${round}`);
        return email;
      });
      expect(sent).toMatchObject({ claimed: true, value: { id: emailId, attempts: 0, toAddress: expect.stringMatching(/^buyer-/) } });
      // The same claim, now on a settled row, says why it cannot claim it.
      expect(await store.withPendingEmail(emailId, async () => 'twice')).toEqual({ claimed: false, reason: 'sent' });
      expect(await store.withPendingEmail(newId(), async () => 'none')).toEqual({ claimed: false, reason: 'missing' });
      const [row] = await db.sql<{ status: string; attempts: number; last_response: string; subject: string }>(
        'select status, attempts, last_response, subject from email_messages where id = ?',
        [emailId],
      );
      expect(row).toEqual({ status: 'sent', attempts: 1, last_response: `250 queued as Q${round}`, subject: `subject ${round}` });
    }

    const prepared = [...(await preparedOnConnection(single)).values()];
    const claim = prepared.find((statement) => /with claimed as/.test(statement.statement));
    const sentOutcome = prepared.find((statement) => /set status = 'sent'/.test(statement.statement));
    // Three claims a round, each parsed once on this connection: the later ones ran a generic plan.
    expect(claim && claim.generic + claim.custom).toBe(3 * ROUNDS);
    expect(claim?.generic).toBeGreaterThan(0);
    expect(claim?.custom).toBeGreaterThan(0);
    expect(sentOutcome && sentOutcome.generic + sentOutcome.custom).toBe(ROUNDS);
  });

  it('the delivery claim and the attempt record answer the same before and after the switch', async () => {
    const repository = new PostgresWebhookRepository(plainSingle, testSecretCipher());
    const endpointId = newId();
    await repository.add({
      id: endpointId,
      url: 'https://receiver.example/hooks',
      eventTypes: ['*'],
      secret: 'whsec_prepared-statements-test-secret',
      deliveryRate: null,
      createdAt: new Date(),
    });
    for (let round = 1; round <= ROUNDS; round++) {
      await forceGenericPlansFrom(plainSingle, round);
      const deliveryId = newId();
      await db.sql(
        `insert into webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, created_at)
         values (?, ?, ?, 'order.placed', ?, 'pending', 0, now())`,
        [deliveryId, endpointId, newId(), JSON.stringify({ round })],
      );
      const claimed = await repository.claimForSending(deliveryId, new Date());
      expect(claimed).toMatchObject({
        delivery: { id: deliveryId, endpointId, status: 'pending', attempts: 0, body: JSON.stringify({ round }) },
        endpoint: { id: endpointId, url: 'https://receiver.example/hooks', secrets: { current: 'whsec_prepared-statements-test-secret' } },
        attemptId: expect.any(String),
      });
      const recorded = await repository.recordAttempt({
        deliveryId,
        attemptId: claimed!.attemptId!,
        attempt: { attemptedAt: new Date(), statusCode: 204, durationMs: 3, error: null },
        status: 'delivered',
        nextAttemptAt: null,
        deliveredAt: new Date(),
        endpoint: { id: endpointId, succeeded: true },
      });
      expect(recorded).toBe(true);
      const [row] = await db.sql<{ status: string; attempts: number; last_status_code: number; attempt_id: string | null }>(
        'select status, attempts, last_status_code, attempt_id from webhook_deliveries where id = ?',
        [deliveryId],
      );
      expect(row).toEqual({ status: 'delivered', attempts: 1, last_status_code: 204, attempt_id: null });
      // A claim of the settled row still reads it, but claims nothing; an unknown id is no row.
      expect(await repository.claimForSending(deliveryId, new Date())).toMatchObject({ delivery: { status: 'delivered' }, attemptId: null });
      expect(await repository.claimForSending(newId(), new Date())).toBeNull();
    }

    const prepared = [...(await preparedOnConnection(plainSingle)).values()];
    const claim = prepared.find((statement) => /with claim as/.test(statement.statement));
    const record = prepared.find((statement) => /insert into webhook_delivery_attempts/.test(statement.statement));
    expect(claim && claim.generic + claim.custom).toBe(3 * ROUNDS);
    expect(record && record.generic + record.custom).toBe(ROUNDS);
    expect(record?.generic).toBeGreaterThan(0);
    expect(record?.custom).toBeGreaterThan(0);
  });
});
