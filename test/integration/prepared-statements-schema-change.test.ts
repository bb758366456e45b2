// A migration that changes what a prepared statement returns (ADR 0018): PostgreSQL then refuses
// that statement on every connection that prepared it ("cached plan must not change result
// type", 0A000), and pg cannot prepare it again on that connection. The mailer's and the
// relay's statements run on clients they check out of their pool; such a client must not go
// back to the pool, or every later email or batch on it fails the same way. Each pool below has
// one connection, so a client that went back would be the one used next.
import { Queue } from 'bullmq';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlEmailMessageStore } from '../../src/infrastructure/mail/email-message-store.js';
import { OutboxRelay, type RelayPolicies } from '../../src/infrastructure/relay/outbox-relay.js';
import { createRedisConnection, type RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { pipeliningPoolConfig } from '../../src/infrastructure/persistence/pipelining-pool.js';
import { REDIS_URL } from '../support/config.js';
import { createTestDatabase } from '../support/database.js';
import { newId } from '../support/orm.js';
import { uniquePrefix } from '../support/redis-keys.js';

let url: string;
let drop: () => Promise<void>;
let admin: pg.Pool;
let connection: RedisConnection;

beforeAll(async () => {
  const db = await createTestDatabase();
  url = db.url;
  drop = db.drop;
  admin = new pg.Pool({ connectionString: url, max: 2 });
  connection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
});
afterAll(async () => {
  await admin.end();
  await connection.quit();
  await drop();
});

async function insertEmail(): Promise<string> {
  const id = newId();
  await admin.query(
    `insert into email_messages (id, event_id, template, to_address, message_id, status, attempts, created_at)
     values ($1, $2, 'welcome', $3, $4, 'pending', 0, now())`,
    [id, newId(), `ann-${id.slice(-6)}@example.com`, `<${id}@conveyor.local>`],
  );
  return id;
}

const status = async (sql: string, id: string) => (await admin.query<{ status: string }>(sql, [id])).rows[0]?.status;

describe('a migration that changes what a prepared statement returns', () => {
  it('fails one email on the connection that prepared the claim; the next attempt claims it on a new connection and sends it', async () => {
    // A pipelining pool, as the mailer's.
    const pool = new pg.Pool(pipeliningPoolConfig({ connectionString: url, max: 1 }));
    try {
      const store = new SqlEmailMessageStore(pool);
      const send = (emailId: string) =>
        store.withPendingEmail(emailId, async (email, record) => {
          await record.sent('250 ok', 'hello');
          return email.toAddress;
        });
      expect(await send(await insertEmail())).toMatchObject({ claimed: true });

      // The claim returns to_address; a wider type is a different result type.
      await admin.query('alter table email_messages alter column to_address type varchar(320)');
      const emailId = await insertEmail();
      await expect(send(emailId)).rejects.toMatchObject({ code: '0A000' });
      expect(await status('select status from email_messages where id = $1', emailId)).toBe('pending');

      // The job's retry: the stale connection was discarded, so the claim is prepared anew.
      expect(await send(emailId)).toEqual({ claimed: true, value: expect.stringMatching(/^ann-/) });
      expect(await status('select status from email_messages where id = $1', emailId)).toBe('sent');
      expect(await send(await insertEmail())).toMatchObject({ claimed: true });
    } finally {
      await pool.end();
    }
  });

  // `npm start` runs the relay on the shared plain pool; the relay process's own pool pipelines.
  // Each case widens the column to a width of its own, so each changes the lookup's result type.
  it.each([
    { pool: 'a plain pool', config: (): pg.PoolConfig => ({ connectionString: url, max: 1 }), width: 320 },
    { pool: 'a pipelining pool', config: () => pipeliningPoolConfig({ connectionString: url, max: 1 }), width: 400 },
  ])('fails one relay batch on the connection that prepared the address lookup; the next batch relays the event ($pool)', async ({ config, width }) => {
    const pool = new pg.Pool(config());
    const prefix = uniquePrefix('stale-statement');
    const emails = new Queue('emails', { connection, prefix });
    const webhooks = new Queue('webhooks', { connection, prefix });
    const policies: RelayPolicies = {
      buildWebhookBody: (event) => JSON.stringify({ type: event.type, data: event.payload }),
      emailJobOptions: { attempts: 3 },
      webhookJobOptions: { attempts: 3 },
    };
    const relay = new OutboxRelay({ pool, emails, webhooks, policies, logger: pino({ level: 'silent' }) });
    const userId = newId();
    await admin.query(`insert into users (id, email, name, created_at) values ($1, $2, 'Ann', now())`, [userId, `${userId}@example.com`]);
    const placed = async (buyer: string) => {
      const id = newId();
      await admin.query(
        `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at)
         values ($1, 'order.placed', 'order', $2, $3, now())`,
        [id, newId(), JSON.stringify({ orderId: newId(), userId: buyer })],
      );
      return id;
    };
    const published = async (eventId: string) =>
      status(`select case when published_at is null then 'pending' else 'published' end as status from outbox_messages where id = $1`, eventId);
    // The claim reads the address of a user it finds; the prepared address lookup runs for a
    // user it did not find (here one that does not exist: the event gets no email).
    const ghost = newId();
    try {
      await placed(ghost);
      expect(await relay.drain()).toBe(1);

      // A wider email column changes what the lookup returns.
      await admin.query(`alter table users alter column email type varchar(${width})`);
      const eventId = await placed(ghost);
      await expect(relay.drain()).rejects.toMatchObject({ code: '0A000' });
      expect(await published(eventId)).toBe('pending');

      // The relay's next pass (its poll or a NOTIFY) runs on a new connection.
      expect(await relay.drain()).toBe(1);
      expect(await published(eventId)).toBe('published');

      // And the buyer's address, read by the claim, still reaches an email and its job.
      const annsEvent = await placed(userId);
      expect(await relay.drain()).toBe(1);
      const [email] = (await admin.query<{ id: string }>('select id from email_messages where event_id = $1', [annsEvent])).rows;
      expect(email && (await emails.getJob(email.id))?.data).toEqual({ emailId: email?.id });
    } finally {
      await emails.obliterate({ force: true });
      await webhooks.obliterate({ force: true });
      await emails.close();
      await webhooks.close();
      await pool.end();
    }
  });
});
