import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/infrastructure/persistence/mikro-orm.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { ApiClient, type RecordedAnswer as Answer } from '../support/api-client.js';
import { ProcessGroup } from '../support/processes.js';
import { sleep, within } from '../support/wait.js';
import { TEST_RATE_LIMIT_PER_MINUTE } from '../support/config.js';

// A private PostgreSQL cluster stopped (pg_ctl stop -m fast: every connection is cut) for
// 10 s under real web and worker processes, while a client keeps POSTing commands, following
// their statusUrl and polling GET /health/ready every 200 ms. Redis (a private one) stays up:
// intake goes on, readiness says 503, nothing answers 500, and every accepted command is
// processed once PostgreSQL is back, with no manual action.

const OUTAGE_MS = 10_000;

let cluster: PrivatePostgres;
let redis: PrivateRedis;
let databaseUrl: string;
let pool: pg.Pool;
let system: ProcessGroup;
const API_KEY = 'fault-key';

beforeAll(async () => {
  cluster = await startPrivatePostgres();
  redis = await startPrivateRedis({ appendonly: false });
  databaseUrl = await cluster.createDatabase('conveyor');
  await migrate(databaseUrl);
  pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', () => undefined); // idle connections die with the server
  system = new ProcessGroup({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: uniquePrefix('pg-stop'),
    HOST: '127.0.0.1',
    API_KEYS: API_KEY,
    RATE_LIMIT_PER_MINUTE: String(TEST_RATE_LIMIT_PER_MINUTE),
    WORKER_CONCURRENCY: '8',
  });
  await system.startRoles('web', 'worker');
}, 120_000);

afterAll(async () => {
  await system?.stopAll(10_000);
  await pool?.end();
  await redis?.cleanup();
  await cluster?.cleanup();
});

async function outcomes(commandIds: string[]): Promise<Record<string, number>> {
  const rows = await pool.query<{ status: string; n: string }>(
    'select status, count(*) as n from processed_commands where command_id = any($1::uuid[]) group by status',
    [commandIds],
  );
  return Object.fromEntries(rows.rows.map((row) => [row.status, Number(row.n)]));
}

describe('PostgreSQL stopped for 10 s under web and worker', () => {
  it('readiness answers 503 meanwhile, no route answers 500, every accepted command completes after', { timeout: 150_000 }, async () => {
    const client = new ApiClient(system.baseUrl, API_KEY);
    const accept = async (route: string, path: string, body: unknown) => {
      const answer = await client.attempt('POST', route, path, body);
      return answer.status === 202 ? (answer.body as Record<string, string>) : undefined;
    };
    const user = await accept('POST /v1/users', '/v1/users', { email: 'pg-stop@example.com', name: 'Stop' });
    const product = await accept('POST /v1/products', '/v1/products', {
      sku: 'PG-STOP-1',
      name: 'Widget',
      price: { amount: '3.00', currency: 'EUR' },
      stock: 1_000_000,
    });
    if (!user?.userId || !product?.productId || !user.commandId || !product.commandId) throw new Error('seed commands refused');
    const { userId } = user;
    const { productId } = product;
    const seedIds = [user.commandId, product.commandId];
    await within('the seed commands', 20_000, async () => (await outcomes(seedIds)).succeeded === 2);

    const commandIds: string[] = [];
    let stop = false;
    let i = 0;
    const commands = async () => {
      while (!stop) {
        i += 1;
        const accepted =
          i % 3 === 0
            ? await accept('POST /v1/users', '/v1/users', { email: `pg-${i}@example.com`, name: `User ${i}` })
            : i % 3 === 1
              ? await accept('POST /v1/orders', '/v1/orders', { userId, items: [{ productId, quantity: 1 }] })
              : await accept('POST /v1/products/:id/restock', `/v1/products/${productId}/restock`, { quantity: 1 });
        if (accepted?.commandId) commandIds.push(accepted.commandId);
        await sleep(100);
      }
    };
    const readiness = async () => {
      while (!stop) {
        await client.attempt('GET', 'GET /health/ready', '/health/ready');
        await sleep(200);
      }
    };
    // A client following the statusUrl of the commands it sent.
    const statuses = async () => {
      while (!stop) {
        const commandId = commandIds[Math.floor(Math.random() * commandIds.length)];
        if (commandId) await client.attempt('GET', 'GET /v1/commands/:id', `/v1/commands/${commandId}`);
        await sleep(200);
      }
    };
    let stoppedAt = 0;
    let stopReturnedAt = 0;
    let startCalledAt = 0;
    let startedAt = 0;
    const fault = async () => {
      try {
        await sleep(2000);
        stoppedAt = Date.now();
        await cluster.stop('fast');
        stopReturnedAt = Date.now();
        await sleep(OUTAGE_MS - (Date.now() - stoppedAt));
        startCalledAt = Date.now();
        await cluster.start();
        startedAt = Date.now();
        const ready = (answer: Answer) => answer.route === 'GET /health/ready' && answer.status === 200 && answer.at > startedAt;
        await within('readiness after the restart', 30_000, async () => client.answers.some(ready));
        await sleep(2000);
      } finally {
        stop = true;
      }
    };
    await Promise.all([fault(), commands(), readiness(), statuses()]);

    const firstReady = Math.min(
      ...client.answers.filter((a) => a.route === 'GET /health/ready' && a.status === 200 && a.at > startedAt).map((a) => a.at),
    );
    const completedIn = await within(
      `an outcome for all ${commandIds.length} accepted commands`,
      90_000,
      async () => Object.values(await outcomes(commandIds)).reduce((a, b) => a + b, 0) === commandIds.length,
      async () => JSON.stringify(await outcomes(commandIds)) + '\n' + system.output(),
    );
    const completedAt = Date.now();
    const during = (answer: Answer) => answer.at >= stoppedAt && answer.at <= startedAt;
    const acceptedDuring = client.answers.filter((a) => during(a) && a.status === 202).length;
    const figures = {
      outageMs: startedAt - stoppedAt,
      commandsAccepted: commandIds.length,
      commandsAcceptedDuringOutage: acceptedDuring,
      answersBefore: client.tally((a) => a.at < stoppedAt),
      answersDuringOutage: client.tally(during),
      answersAfter: client.tally((a) => a.at > startedAt),
      readyAgainMsAfterStart: firstReady - startedAt,
      allCommandsDoneMsAfterStart: completedAt - startedAt,
      waitedForCommandsMs: completedIn,
      outcomes: await outcomes(commandIds),
      commandRetries: system.count('worker', 'command failed, will retry'),
      // Of the 8 attempts a command job has (queues/job-options.ts): the headroom left.
      mostAttemptsOfACommand: Math.max(
        0,
        ...system
          .outputOf('worker')
          .split('\n')
          .filter((line) => line.includes('"command succeeded"'))
          .map((line) => Number(/"attempt":(\d+)/.exec(line)?.[1] ?? 0)),
      ),
      workerErrors: system.errors('worker', 'command failed, will retry'),
      exitedProcesses: system.exited(),
    };
    console.log('[postgres-stop]', JSON.stringify(figures, null, 2));

    const readyDuring = client.answers.filter((a) => a.route === 'GET /health/ready' && during(a));
    // Readiness tells the load balancer: 503 while PostgreSQL is down, 200 before and after.
    // "Down" is from the moment pg_ctl stop returned to the moment pg_ctl start was called:
    // a probe sent before the stop finished, or answered while the server is starting (pg_ctl
    // returns only once it accepts connections), may rightly say 200.
    const surelyDown = (a: Answer) => a.sentAt >= stopReturnedAt && a.at <= startCalledAt;
    expect(readyDuring.filter((a) => a.status === 503).length).toBeGreaterThanOrEqual(Math.floor(OUTAGE_MS / 400));
    expect(client.tally((a) => a.route === 'GET /health/ready' && surelyDown(a))).toEqual({
      'GET /health/ready': { 503: expect.any(Number) },
    });
    expect(client.statuses((a) => a.route === 'GET /health/ready' && a.at < stoppedAt)).toEqual(new Set([200]));
    // Nothing answers 500 (or fails to answer), on any route.
    for (const [route, byStatus] of Object.entries(client.tally())) {
      expect({ route, s500: byStatus[500] ?? 0, none: byStatus[0] ?? 0 }).toEqual({ route, s500: 0, none: 0 });
    }
    // Intake needs only Redis: every command is accepted, also while PostgreSQL is down.
    expect(client.statuses((a) => a.route.startsWith('POST '))).toEqual(new Set([202]));
    expect(acceptedDuring).toBeGreaterThan(0);
    expect(await outcomes(commandIds)).toEqual({ succeeded: commandIds.length });
    expect(system.exited()).toEqual([]);
  });
});
