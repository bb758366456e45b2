// A pipelining pg pool (the mailer's) sends the queries issued in one turn of the event loop in
// one write on a real PostgreSQL (ADR 0022): each query still gets its own answer, in order, and
// the email store's claim and outcome cost two writes, not four.
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlEmailMessageStore } from '../../src/infrastructure/mail/email-message-store.js';
import { pipeliningPoolConfig } from '../../src/infrastructure/persistence/pipelining-pool.js';
import { countWrites } from '../support/net.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';

let db: OrmFixture;

beforeAll(async () => {
  db = await ormOnFreshDatabase();
});

afterAll(async () => {
  await db.close();
});

/**
 * A one-connection pool with the mailer's configuration, the sockets it opened, and `end()`,
 * which waits until its connections have closed (the database is dropped after the tests).
 */
function pipeliningPool(): { pool: pg.Pool; sockets: Duplex[]; end(): Promise<void> } {
  const sockets: Duplex[] = [];
  const closed: Promise<unknown>[] = [];
  const config = pipeliningPoolConfig({ connectionString: db.url, max: 1 });
  const open = config.stream as () => Duplex;
  const pool = new pg.Pool({
    ...config,
    stream: () => {
      const socket = open();
      sockets.push(socket);
      return socket;
    },
  });
  pool.on('connect', (client) => closed.push(once(client, 'end').catch(() => undefined)));
  return {
    pool,
    sockets,
    async end() {
      await pool.end();
      await Promise.all(closed);
    },
  };
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
});
