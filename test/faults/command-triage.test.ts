import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/infrastructure/persistence/mikro-orm.js';
import { ApiClient, type Json } from '../support/api-client.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { ProcessGroup } from '../support/processes.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { within } from '../support/wait.js';
import { TEST_RATE_LIMIT_PER_MINUTE } from '../support/config.js';

// Triage after an outage longer than the retry budget: a private PostgreSQL is stopped under real
// web, worker and relay processes whose command jobs have 3 attempts (COMMAND_ATTEMPTS=3, about
// 2 s). The 50 orders accepted meanwhile give up; the worker cannot record that (PostgreSQL is
// what is down), so once PostgreSQL is back the relay's sweeper copies them from BullMQ's failed
// set. An operator then lists them (gave_up), retries them in bulk over HTTP (a dry run first),
// and every one succeeds, applied once; the domain failures in the same filter are skipped.

const API_KEY = 'triage-key';
const ORDERS = 50;
const DOMAIN_FAILURES = 10;

let cluster: PrivatePostgres;
let redis: PrivateRedis;
let pool: pg.Pool;
let system: ProcessGroup;
let connection: Redis;
let commands: Queue;

beforeAll(async () => {
  cluster = await startPrivatePostgres();
  redis = await startPrivateRedis({ appendonly: false });
  const databaseUrl = await cluster.createDatabase('conveyor');
  await migrate(databaseUrl);
  pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', () => undefined); // idle connections die with the server
  const prefix = uniquePrefix('triage');
  system = new ProcessGroup({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: prefix,
    HOST: '127.0.0.1',
    API_KEYS: API_KEY,
    RATE_LIMIT_PER_MINUTE: String(TEST_RATE_LIMIT_PER_MINUTE),
    WORKER_CONCURRENCY: '8',
    COMMAND_ATTEMPTS: '3',
    SWEEP_INTERVAL_MS: '1000',
    SWEEP_GRACE_MS: '1000',
  });
  await system.startRoles('web', 'worker', 'relay');
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  commands = new Queue('commands', { connection, prefix });
}, 120_000);

afterAll(async () => {
  await system?.stopAll(10_000);
  await commands?.close();
  connection?.disconnect();
  await pool?.end();
  await redis?.cleanup();
  await cluster?.cleanup();
});

const query = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[];

const outcomes = async (commandIds: string[]) =>
  Object.fromEntries(
    (
      await query<{ status: string; n: number }>(
        'select status, count(*)::int as n from processed_commands where command_id = any($1::uuid[]) group by status',
        [commandIds],
      )
    ).map((row) => [row.status, row.n]),
  );

describe('commands that gave up while PostgreSQL was down', () => {
  it('are listed as gave_up and a bulk retry applies each once; domain failures in the same filter are skipped', { timeout: 180_000 }, async () => {
    const client = new ApiClient(system.baseUrl, API_KEY);
    /** Every command matching the query, walked page by page over HTTP. */
    const listAll = async (search: string): Promise<Json[]> => {
      const items: Json[] = [];
      let cursor: string | null = null;
      do {
        const response: { status: number; body: Json } = await client.get(`/v1/commands?${search}&limit=20${cursor ? `&cursor=${cursor}` : ''}`);
        expect(response.status, JSON.stringify(response.body)).toBe(200);
        items.push(...response.body.items);
        cursor = response.body.nextCursor;
      } while (cursor);
      return items;
    };
    const retry = async (body: unknown) => {
      const response = await client.post('/v1/commands/retry', body);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return response.body;
    };

    const user = await client.accept('/v1/users', { email: 'triage@example.com', name: 'Tri' });
    const product = await client.accept('/v1/products', {
      sku: 'TRIAGE-1',
      name: 'Widget',
      price: { amount: '3.00', currency: 'EUR' },
      stock: 1_000_000,
    });
    await within('the seed commands', 20_000, async () => (await outcomes([user.commandId, product.commandId])).succeeded === 2);

    // Domain failures: confirming orders that do not exist. Final, never to be run again.
    const since = new Date().toISOString();
    const refused = await Promise.all(
      Array.from({ length: DOMAIN_FAILURES }, async () => (await client.accept(`/v1/orders/${crypto.randomUUID()}/confirm`)).commandId),
    );
    await within('the domain failures', 20_000, async () => (await outcomes(refused)).failed === DOMAIN_FAILURES);
    const refusedRows = await query('select command_id, processed_at from processed_commands where command_id = any($1::uuid[]) order by 1', [refused]);

    // PostgreSQL goes away for longer than the 3 attempts take; intake needs only Redis.
    await cluster.stop('fast');
    const stoppedAt = Date.now();
    const placed = await Promise.all(
      Array.from({ length: ORDERS }, () =>
        client.accept('/v1/orders', { userId: user.userId, items: [{ productId: product.productId, quantity: 1 }] }),
      ),
    );
    const commandIds = placed.map((accepted) => accepted.commandId);
    const gaveUpIn = await within('every order to give up', 60_000, async () =>
      (await Promise.all(commandIds.map((id) => commands.getJobState(id)))).every((state) => state === 'failed'),
    );
    await cluster.start();
    const outageMs = Date.now() - stoppedAt;

    // The sweeper copies them from BullMQ's failed set: they are listed as gave_up.
    const recordedIn = await within(
      'the sweeper to record every command that gave up',
      30_000,
      async () => (await listAll('status=gave_up')).length === ORDERS,
      () => system.output(),
    );
    const gaveUp = await listAll('status=gave_up&type=PlaceOrder');
    expect(gaveUp.map((item) => item.commandId).sort()).toEqual([...commandIds].sort());
    const orderOf = new Map(placed.map((accepted) => [accepted.commandId, accepted.orderId]));
    for (const item of gaveUp) {
      expect(item).toMatchObject({
        type: 'PlaceOrder',
        status: 'gave_up',
        attempts: 3,
        error: { code: 'infrastructure_error' },
        aggregateType: 'order',
        aggregateId: orderOf.get(item.commandId),
        retriedAt: null,
      });
      expect(Date.parse(item.acceptedAt)).toBeGreaterThanOrEqual(stoppedAt - 1000);
      expect(Date.parse(item.finishedAt)).toBeGreaterThanOrEqual(Date.parse(item.acceptedAt));
    }
    expect((await client.get(`/v1/commands/${commandIds[0]}`)).body).toMatchObject({ status: 'gave_up', attempts: 3 });
    expect(await query('select count(*)::int as n from orders')).toEqual([{ n: 0 }]);

    // A dry run counts and changes nothing.
    const filter = { since };
    expect(await retry({ filter, dryRun: true })).toEqual({ matched: ORDERS + DOMAIN_FAILURES, retried: ORDERS, skipped: DOMAIN_FAILURES, dryRun: true });
    expect(await listAll('status=gave_up')).toHaveLength(ORDERS);
    expect(await Promise.all(commandIds.map((id) => commands.getJobState(id)))).toEqual(Array(ORDERS).fill('failed'));

    const retryStarted = Date.now();
    expect(await retry({ filter, dryRun: false })).toEqual({ matched: ORDERS + DOMAIN_FAILURES, retried: ORDERS, skipped: DOMAIN_FAILURES, dryRun: false });
    const succeededIn = await within(
      'every retried order to succeed',
      60_000,
      async () => (await outcomes(commandIds)).succeeded === ORDERS,
      async () => JSON.stringify(await outcomes(commandIds)) + '\n' + system.output(),
    );

    // Each applied exactly once.
    const orderIds = placed.map((accepted) => accepted.orderId);
    expect(await query('select count(*)::int as n from orders where id = any($1::uuid[])', [orderIds])).toEqual([{ n: ORDERS }]);
    expect(await query('select stock from products where id = $1', [product.productId])).toEqual([{ stock: 1_000_000 - ORDERS }]);
    expect(
      await query(`select count(*)::int as n, count(distinct aggregate_id)::int as orders from outbox_messages where type = 'order.placed'`),
    ).toEqual([{ n: ORDERS, orders: ORDERS }]);
    // The domain failures were not run again.
    expect(await query('select command_id, processed_at from processed_commands where command_id = any($1::uuid[]) order by 1', [refused])).toEqual(
      refusedRows,
    );
    expect(await Promise.all(refused.map((id) => commands.getJobState(id)))).toEqual(Array(DOMAIN_FAILURES).fill('failed'));

    const after = await listAll(`since=${since}`);
    expect(after.filter((item) => item.status === 'failed').map((item) => item.error.code)).toEqual(Array(DOMAIN_FAILURES).fill('order_not_found'));
    const succeeded = after.filter((item) => item.status === 'succeeded');
    expect(succeeded).toHaveLength(ORDERS);
    // Three attempts before the retry, one after it.
    for (const item of succeeded) expect(item).toMatchObject({ attempts: 4, retriedAt: expect.any(String) });
    expect(after).toHaveLength(ORDERS + DOMAIN_FAILURES);
    // A second retry finds nothing to do.
    expect(await retry({ filter, dryRun: false })).toEqual({ matched: ORDERS + DOMAIN_FAILURES, retried: 0, skipped: ORDERS + DOMAIN_FAILURES, dryRun: false });

    const figures = {
      outageMs,
      gaveUpMsAfterStop: gaveUpIn,
      recordedBySweeperMsAfterStart: recordedIn,
      retriedToSucceededMs: succeededIn,
      retryAnsweredAndDoneMs: Date.now() - retryStarted,
      workerRecorded: system.count('worker', 'command gave up: listed for retry'),
      workerCouldNotRecord: system.count('worker', 'could not record the command that gave up'),
      sweeperRecorded: system.count('relay', 'sweeper recorded commands that gave up'),
      exitedProcesses: system.exited(),
    };
    console.log('[command-triage]', JSON.stringify(figures, null, 2));
    // The worker tried to record each as it gave up; PostgreSQL being down, the sweeper did.
    expect(figures.workerRecorded + figures.workerCouldNotRecord).toBe(ORDERS);
    if (figures.workerCouldNotRecord > 0) expect(figures.sweeperRecorded).toBeGreaterThan(0);
    expect(system.exited()).toEqual([]);
  });
});
