// A pipelining pg pool (the mailer's and the relay's) sends the queries issued in one turn of the
// event loop in one write on a real PostgreSQL (ADR 0022): each query still gets its own answer,
// in order; the email store's claim and outcome cost two writes, not four, and a relay batch
// three, not four.
import type { Duplex } from 'node:stream';
import { Queue } from 'bullmq';
import type pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlEmailMessageStore } from '../../src/infrastructure/mail/email-message-store.js';
import { inOrder, pipeliningPoolConfig } from '../../src/infrastructure/persistence/pipelining-pool.js';
import { createRedisConnection } from '../../src/infrastructure/redis/connection.js';
import { OutboxRelay } from '../../src/infrastructure/relay/outbox-relay.js';
import { REDIS_URL } from '../support/config.js';
import { closingPool } from '../support/database.js';
import { countWrites } from '../support/net.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';
import { uniquePrefix } from '../support/redis-keys.js';

let db: OrmFixture;
const redis = createRedisConnection({ url: REDIS_URL, role: 'producer' });

beforeAll(async () => {
  db = await ormOnFreshDatabase();
});

afterAll(async () => {
  await redis.quit();
  await db.close();
});

/**
 * A one-connection pool with the mailer's configuration, the sockets it opened, and `end()`,
 * which waits until its connections have closed (closingPool: the database is dropped after the tests).
 */
function pipeliningPool(): { pool: pg.Pool; sockets: Duplex[]; end(): Promise<void> } {
  const sockets: Duplex[] = [];
  const config = pipeliningPoolConfig({ connectionString: db.url, max: 1 });
  const open = config.stream as () => Duplex;
  const closing = closingPool({
    ...config,
    stream: () => {
      const socket = open();
      sockets.push(socket);
      return socket;
    },
  });
  return { ...closing, sockets };
}

/**
 * Runs `test` on the one connection of such a pool, with its writes counted from after the
 * connection's start-up, and ends the pool after it.
 */
async function onOneConnection(test: (client: pg.PoolClient, writes: ReturnType<typeof countWrites>) => Promise<void>): Promise<void> {
  const { pool, sockets, end } = pipeliningPool();
  try {
    const client = await pool.connect();
    try {
      await test(client, countWrites(sockets[0]!));
    } finally {
      client.release();
    }
  } finally {
    await end();
  }
}

const turnEnd = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('a pipelining pool', () => {
  it('sends the queries of one turn in one write, each answered in order', () =>
    onOneConnection(async (client, writes) => {
      const results = await Promise.all([
        client.query('begin'),
        client.query({ name: 'pipelining-pool-n', text: 'select $1::int as n', values: [1] }),
        client.query({ text: 'select $1::text as s', values: ['two'] }),
        client.query('select 3 as n'),
        client.query('commit'),
      ]);
      expect(writes.count).toBe(1);
      expect(results.map((result) => result.command)).toEqual(['BEGIN', 'SELECT', 'SELECT', 'SELECT', 'COMMIT']);
      expect(results.slice(1, 4).map((result) => result.rows[0])).toEqual([{ n: 1 }, { s: 'two' }, { n: 3 }]);
    }));

  it('holds a query while its turn runs and sends it when the turn ends', () =>
    onOneConnection(async (client, writes) => {
      const answer = client.query('select 42 as n');
      expect(writes.count).toBe(0);
      await turnEnd();
      expect(writes.count).toBe(1);
      expect((await answer).rows).toEqual([{ n: 42 }]);
    }));

  it('joins the writes of a connection opened to replace a broken one', async () => {
    const { pool, sockets, end } = pipeliningPool();
    try {
      const first = await pool.connect();
      first.release(new Error('discard this connection'));
      const client = await pool.connect();
      try {
        expect(sockets).toHaveLength(2);
        const writes = countWrites(sockets[1]!);
        const [a, b] = await Promise.all([client.query('select 1 as n'), client.query('select 2 as n')]);
        expect(writes.count).toBe(1);
        expect([a.rows[0], b.rows[0]]).toEqual([{ n: 1 }, { n: 2 }]);
      } finally {
        client.release();
      }
    } finally {
      await end();
    }
  });

  it('still ends its connections with a Terminate message, sent in the turn after pool.end()', async () => {
    const { pool, sockets, end } = pipeliningPool();
    (await pool.connect()).release();
    const writes = countWrites(sockets[0]!);
    // end() waits until the connection has closed: the server closes it on the Terminate.
    await end();
    expect(writes.count).toBe(1);
    expect(writes.writes[0]?.toString('latin1', 0, 1)).toBe('X');
  });

  it('sends a transaction in one write with inOrder, and a failing statement rolls back the one before it', () =>
    onOneConnection(async (client, writes) => {
      await client.query('create temporary table in_order_probe (n int primary key)');
      const before = writes.count;
      // The second insert fails after the first succeeded; the COMMIT already on its way ends the
      // aborted transaction as a ROLLBACK, so the first insert is gone too.
      const outcome = inOrder(client, 'begin', 'insert into in_order_probe values (1)', 'insert into in_order_probe values (1)', 'commit');
      await expect(outcome).rejects.toThrow(/duplicate key/);
      expect(writes.count - before).toBe(1);
      // The connection is out of the transaction and sees nothing of it.
      const after = await client.query<{ n: number; open: boolean }>(
        `select (select count(*)::int from in_order_probe) as n, now() <> statement_timestamp() as open`,
      );
      expect(after.rows).toEqual([{ n: 0, open: false }]);
    }));

  it('lets the email store claim, record and commit a sent email in two writes', async () => {
    const { pool, sockets, end } = pipeliningPool();
    try {
      // Connect first, so the count leaves out the connection's start-up.
      (await pool.connect()).release();
      const id = newId();
      await db.sql(
        `insert into email_messages (id, event_id, template, to_address, message_id, status, attempts, created_at)
         values (?, ?, 'order_confirmation', 'buyer@example.com', ?, 'pending', 0, now())`,
        [id, newId(), `<${id}@conveyor.local>`],
      );
      const writes = countWrites(sockets[0]!);
      const store = new SqlEmailMessageStore(pool);
      const result = await store.withPendingEmail(id, async (_email, record) => record.sent('250 2.0.0 Ok', 'Your order'));
      expect(result.claimed).toBe(true);
      // BEGIN with the claim, the outcome with COMMIT.
      expect(writes.count).toBe(2);
      const [row] = await db.sql<{ status: string; subject: string }>('select status, subject from email_messages where id = ?', [id]);
      expect(row).toEqual({ status: 'sent', subject: 'Your order' });
    } finally {
      await end();
    }
  });

  describe('the outbox relay on it', () => {
    /** A user, an endpoint for every event and one order.placed event for the user: a webhook and an email. */
    async function placedEvent(): Promise<string> {
      await db.sql('truncate outbox_messages, webhook_deliveries, email_messages, webhook_endpoints');
      const userId = newId();
      const eventId = newId();
      await db.sql(`insert into users (id, email, name, created_at) values (?, ?, 'Ann', now())`, [userId, `${userId}@example.com`]);
      await db.sql(
        `insert into webhook_endpoints (id, url, event_types, secret, enabled, created_at) values (?, 'http://127.0.0.1:9/x', '["*"]', 'whsec_x', true, now())`,
        [newId()],
      );
      await db.sql(
        `insert into outbox_messages (id, type, aggregate_type, aggregate_id, payload, occurred_at) values (?, 'order.placed', 'order', ?, ?, now())`,
        [eventId, newId(), JSON.stringify({ orderId: newId(), userId })],
      );
      return eventId;
    }

    const rowsOf = async (eventId: string) => {
      const [row] = await db.sql<{ deliveries: number; emails: number; published: boolean }>(
        `select (select count(*)::int from webhook_deliveries where event_id = ?) as deliveries,
                (select count(*)::int from email_messages where event_id = ?) as emails,
                (select published_at is not null from outbox_messages where id = ?) as published`,
        [eventId, eventId, eventId],
      );
      return row;
    };

    /**
     * Runs `test` on a relay over a one-connection pipelining pool, connected first (so a count
     * of its writes leaves out the start-up), with queues of its own and one order.placed event
     * to relay; `jobs()` counts the jobs the relay added. Closes the queues and the pool after.
     */
    async function onRelay(
      test: (run: { relay: OutboxRelay; jobs: () => Promise<number>; sockets: Duplex[]; eventId: string }) => Promise<void>,
    ): Promise<void> {
      const { pool, sockets, end } = pipeliningPool();
      const prefix = uniquePrefix('pipelining-relay');
      const emails = new Queue('emails', { connection: redis, prefix });
      const webhooks = new Queue('webhooks', { connection: redis, prefix });
      try {
        (await pool.connect()).release();
        const eventId = await placedEvent();
        const relay = new OutboxRelay({
          pool,
          emails,
          webhooks,
          logger: pino({ level: 'silent' }),
          policies: {
            buildWebhookBody: (event) => JSON.stringify({ type: event.type, data: event.payload }),
            emailJobOptions: {},
            webhookJobOptions: {},
          },
        });
        const jobs = async () =>
          (await emails.getJobCountByTypes('waiting', 'delayed')) + (await webhooks.getJobCountByTypes('waiting', 'delayed'));
        await test({ relay, jobs, sockets, eventId });
      } finally {
        // The queues' connection is the file's: closing them leaves it open.
        await Promise.all([emails.close(), webhooks.close()]);
        await end();
      }
    }

    it('relays a batch in three writes: the claim, the rows with COMMIT, marking it published', () =>
      onRelay(async ({ relay, jobs, sockets, eventId }) => {
        const writes = countWrites(sockets[0]!);
        expect(await relay.drain()).toBe(1);
        expect(writes.count).toBe(3);
        expect(await rowsOf(eventId)).toEqual({ deliveries: 1, emails: 1, published: true });
        expect(await jobs()).toBe(2);
      }));

    it('rolls a batch whose rows cannot be inserted back, and relays it on the same connection once they can', () =>
      onRelay(async ({ relay, jobs, sockets, eventId }) => {
        // New rows must pass a check, even one NOT VALID for the rows already there.
        await db.sql('alter table email_messages add constraint no_new_emails check (false) not valid');
        try {
          await expect(relay.drain()).rejects.toThrow(/no_new_emails/);
          expect(await rowsOf(eventId)).toEqual({ deliveries: 0, emails: 0, published: false });
          expect(await jobs()).toBe(0);
        } finally {
          await db.sql('alter table email_messages drop constraint no_new_emails');
        }
        // The pool has one connection: it was left out of the failed transaction, not replaced.
        expect(await relay.drain()).toBe(1);
        expect(sockets).toHaveLength(1);
        expect(await rowsOf(eventId)).toEqual({ deliveries: 1, emails: 1, published: true });
        expect(await jobs()).toBe(2);
      }));
  });
});

