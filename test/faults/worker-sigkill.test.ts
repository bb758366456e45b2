import { QueueEvents, type Queue } from 'bullmq';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/application/clock.js';
import { AddProduct } from '../../src/application/commerce/use-cases/add-product.js';
import { RegisterUser } from '../../src/application/commerce/use-cases/register-user.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { createQueue } from '../../src/infrastructure/queue/queues.js';
import { createRedisConnection, type RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { QUEUES } from '../../queues/names.js';
import { commandJob, type CommandPayload } from '../../queues/commands.js';
import { REDIS_URL } from '../support/config.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { between, sqlPool } from '../support/faults.js';
import { KillableProcess } from '../support/processes.js';
import { sleep, waitFor } from '../support/wait.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';

// docs/design.md §5, exactly-once effect per command: a command worker process is SIGKILLed again
// and again while it works through 2,000 PlaceOrder commands. Jobs it held are handed back by
// BullMQ's stalled-job check once their lock expires, and some of them had already committed:
// the redelivery must find the processed_commands row and apply nothing twice.

const COMMANDS = 2_000;
const KILLS = 6;
/** The kill phase ends after this long even if fewer kills happened (a loaded machine starts processes slowly). */
const KILL_PHASE_MS = 15_000;
const INITIAL_STOCK = 1_000_000;
/**
 * WORKER_LOCK_MS: lock duration and stalled-check interval of the command worker. The default
 * (30 s) hands a killed worker's jobs back only after 60 to 90 s (the lock expires, then one
 * check marks the job and the next moves it); 5 s keeps this test short.
 */
const LOCK_MS = 5_000;
/** After the kill phase: the rest of the work plus the stalled recovery (lock + two or three checks). */
const DRAIN_TIMEOUT_MS = 60_000;

let db: OrmFixture;
let pool: pg.Pool;
let connection: RedisConnection;
let queue: Queue;
let prefix: string;

beforeAll(async () => {
  db = await ormOnFreshDatabase();
  pool = sqlPool(db.url);
  connection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
  prefix = uniquePrefix('sigkill');
  queue = createQueue(QUEUES.commands, { connection, prefix });
});
afterAll(async () => {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await connection.quit();
  await pool.end();
  await db.close();
});

const rows = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await pool.query<T>(sql, params)).rows;
const count = async (sql: string, params: unknown[] = []) => Number((await rows<{ n: string }>(sql, params))[0]?.n);

describe('command worker SIGKILLed while it works', () => {
  it('ends every command exactly once: no command lost, none applied twice', { timeout: 150_000 }, async () => {
    const uow = new MikroOrmUnitOfWork(db.orm);
    const users = Array.from({ length: 5 }, () => newId());
    const products = Array.from({ length: 8 }, () => newId());
    for (const [i, userId] of users.entries()) {
      await new RegisterUser(uow, systemClock).execute({ commandId: newId(), userId, email: `k${i}@example.com`, name: `K${i}` });
    }
    for (const [i, productId] of products.entries()) {
      await new AddProduct(uow, systemClock).execute({
        commandId: newId(),
        productId,
        sku: `KILL-${i}`,
        name: `product ${i}`,
        price: { amount: '2.50', currency: 'EUR' },
        stock: INITIAL_STOCK,
      });
    }

    // 2,000 orders of 1 to 3 distinct products, 1 to 5 units each; what each product should lose.
    const ordered = new Map<string, number>(products.map((id) => [id, 0]));
    const payloads: CommandPayload<'PlaceOrder'>[] = Array.from({ length: COMMANDS }, (_, n) => {
      const lines = 1 + (n % 3);
      const items = Array.from({ length: lines }, (_, l) => {
        const productId = products[(n + l) % products.length]!;
        const quantity = 1 + ((n * 7 + l) % 5);
        ordered.set(productId, ordered.get(productId)! + quantity);
        return { productId, quantity };
      });
      return { commandId: newId(), orderId: newId(), userId: users[n % users.length]!, items };
    });
    for (let i = 0; i < payloads.length; i += 500) {
      await queue.addBulk(
        payloads.slice(i, i + 500).map((data) => commandJob('PlaceOrder', data)),
      );
    }

    const worker = new KillableProcess('worker', {
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      WORKER_LOCK_MS: String(LOCK_MS),
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
    });
    // When BullMQ hands the killed generations' jobs back (its 'stalled' events).
    const events = new QueueEvents(QUEUES.commands, { connection: createRedisConnection({ url: REDIS_URL, role: 'worker' }), prefix });
    await events.waitUntilReady();
    const stalledAt: number[] = [];
    events.on('stalled', () => stalledAt.push(Date.now()));
    const started = Date.now();
    const inFlightAtKill: number[] = [];
    const doneAtKill: number[] = [];
    const finished = async () => {
      const counts = await queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0);
    };
    try {
      // Kill phase: let each generation work for 0.3–1.5 s, then SIGKILL it mid-flight.
      for (let k = 0; k < KILLS && Date.now() - started < KILL_PHASE_MS; k += 1) {
        worker.start();
        await worker.started();
        // Nothing left to hand out: the rest are the jobs earlier generations held.
        if ((await queue.getWaitingCount()) === 0) break;
        const before = await finished();
        await waitFor(async () => (await finished()) > before, 20_000, 'the worker to make progress');
        await sleep(between(300, 1500));
        // Active jobs, including any an earlier generation left that are not handed back yet.
        inFlightAtKill.push(await queue.getActiveCount());
        await worker.kill();
        doneAtKill.push(await finished());
      }
      const killPhaseMs = Date.now() - started;
      // The last generation runs to the end; jobs the killed ones held come back as stalled.
      if (!worker.current) {
        worker.start();
        await worker.started();
      }
      let queueEmptyMs = 0;
      await waitFor(
        async () => {
          if (!queueEmptyMs && (await queue.getWaitingCount()) === 0) queueEmptyMs = Date.now() - started;
          return (await finished()) >= COMMANDS;
        },
        DRAIN_TIMEOUT_MS,
        `all ${COMMANDS} commands to end`,
      ).catch(
        async (error: unknown) => {
          const counts = await queue.getJobCounts();
          throw new Error(`${(error as Error).message}: ${JSON.stringify(counts)}\n${worker.output().slice(-6000)}`);
        },
      );
      const drainedMs = Date.now() - started;

      const counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
      const jobs = await queue.getJobs(['completed', 'failed'], 0, -1);
      const processed = await rows<{ command_id: string; status: string; processed_at: Date }>(
        `select command_id, status, processed_at from processed_commands where command_type = 'PlaceOrder'`,
      );
      const processedById = new Map(processed.map((row) => [row.command_id, row]));
      const lost = payloads.filter((p) => !processedById.has(p.commandId));
      const succeeded = processed.filter((row) => row.status === 'succeeded').length;
      const stalled = jobs.filter((job) => job.stalledCounter > 0);
      // A redelivered job that started after its command had committed: the stored outcome was
      // replayed instead of the order being placed again.
      const replayed = stalled.filter((job) => {
        const row = processedById.get(job.id!);
        return row !== undefined && job.processedOn !== undefined && row.processed_at.getTime() < job.processedOn;
      }).length;
      const orders = await count('select count(*) as n from orders');
      const placedEvents = await count(`select count(*) as n from outbox_messages where type = 'order.placed'`);
      const ordersWithoutOneEvent = await count(
        `select count(*) as n from orders o
          where (select count(*) from outbox_messages m where m.type = 'order.placed' and m.aggregate_id = o.id) <> 1`,
      );
      const stock = await rows<{ id: string; stock: number }>('select id, stock from products');
      const unitsInOrders = await rows<{ product_id: string; units: string }>(
        `select item->>'productId' as product_id, sum((item->>'quantity')::int) as units
           from orders, jsonb_array_elements(items) as item group by 1`,
      );

      console.log(
        `[worker-sigkill] commands=${COMMANDS} lockMs=${LOCK_MS} starts=${worker.starts} kills=${worker.kills} ` +
          `activeAtKill=[${inFlightAtKill.join(',')}] finishedAtKill=[${doneAtKill.join(',')}] ` +
          `killPhase=${killPhaseMs}ms waitingEmpty=${queueEmptyMs}ms drained=${drainedMs}ms ` +
          `(stalled recovery after the last kill: ${drainedMs - killPhaseMs}ms) ` +
          `stalledEventsAt=${[...new Set(stalledAt.map((t) => `${Math.round((t - started) / 1000)}s`))].join(',')}`,
      );
      console.log(
        `[worker-sigkill] completed=${counts.completed} failed=${counts.failed} active=${counts.active} waiting=${counts.waiting} ` +
          `processed_commands=${processed.length} succeeded=${succeeded} lost=${lost.length} ` +
          `stalledJobs=${stalled.length} replayedAfterCommit=${replayed} orders=${orders} order.placed=${placedEvents}`,
      );

      expect(lost.map((p) => p.commandId), 'commands without a processed_commands row').toEqual([]);
      expect(processed.length).toBe(COMMANDS);
      expect(counts.completed, worker.output().slice(-4000)).toBe(COMMANDS);
      expect(counts.failed).toBe(0);
      expect((counts.active ?? 0) + (counts.waiting ?? 0) + (counts.delayed ?? 0)).toBe(0);
      // Exactly once: one order per succeeded command, one order.placed row per order, and
      // stock lowered by exactly the units the commands ordered.
      expect(succeeded).toBe(COMMANDS);
      expect(orders).toBe(succeeded);
      expect(placedEvents).toBe(orders);
      expect(ordersWithoutOneEvent).toBe(0);
      for (const product of stock) {
        expect(product.stock, `stock of ${product.id}`).toBe(INITIAL_STOCK - ordered.get(product.id)!);
        expect(Number(unitsInOrders.find((u) => u.product_id === product.id)?.units)).toBe(ordered.get(product.id));
      }
      // The faults did happen: jobs were cut off mid-flight and handed back.
      expect(worker.kills).toBeGreaterThanOrEqual(2);
      expect(stalled.length).toBeGreaterThan(0);
    } finally {
      await worker.stop();
      await events.close();
    }
  });
});
