import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/application/clock.js';
import { AddProduct } from '../../src/application/commerce/use-cases/add-product.js';
import { RegisterUser } from '../../src/application/commerce/use-cases/register-user.js';
import { MikroOrmUnitOfWork } from '../../src/infrastructure/persistence/mikro-orm-unit-of-work.js';
import { createRedisConnection, type RedisConnection } from '../../src/infrastructure/redis/connection.js';
import { REDIS_URL } from '../support/config.js';
import { uniquePrefix } from '../support/redis-keys.js';
import { newId, ormOnFreshDatabase, type OrmFixture } from '../support/orm.js';
import { startProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

let db: OrmFixture;
let connection: RedisConnection;

beforeAll(async () => {
  db = await ormOnFreshDatabase();
  connection = createRedisConnection({ url: REDIS_URL, role: 'worker' });
});
afterAll(async () => {
  await connection.quit();
  await db.close();
});

const count = async (sql: string, params: unknown[] = []) => Number((await db.pool.query<{ n: string }>(sql, params)).rows[0]?.n);

describe('command worker process', () => {
  it('finishes its in-flight jobs on SIGTERM, leaves nothing active and exits 0', async () => {
    const uow = new MikroOrmUnitOfWork(db.orm);
    const userId = newId();
    const productId = newId();
    await new RegisterUser(uow, systemClock).execute({ commandId: newId(), userId, email: 'g@example.com', name: 'G' });
    await new AddProduct(uow, systemClock).execute({
      commandId: newId(),
      productId,
      sku: 'GRACE-1',
      name: 'x',
      price: { amount: '1.00', currency: 'EUR' },
      stock: 10_000,
    });
    const prefix = uniquePrefix('shutdown');
    const queue = new Queue('commands', { connection, prefix });
    const jobs = 200;
    await queue.addBulk(
      Array.from({ length: jobs }, () => {
        const commandId = newId();
        return {
          name: 'PlaceOrder',
          data: { commandId, orderId: newId(), userId, items: [{ productId, quantity: 1 }] },
          opts: { jobId: commandId, attempts: 3 },
        };
      }),
    );

    // Hold the product's row lock so the worker's jobs pile up in flight, blocked on it.
    const blocker = await db.pool.connect();
    await blocker.query('begin');
    await blocker.query('select 1 from products where id = $1 for update', [productId]);

    const worker = startProcess('worker', {
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: prefix,
      WORKER_CONCURRENCY: '8',
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
    });
    try {
      await waitFor(async () => (await queue.getActiveCount()) === 8, 20_000, '8 active jobs');
      worker.child.kill('SIGTERM');
      // Give the worker time to stop fetching, then let the blocked jobs finish.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await blocker.query('commit');
      const code = await worker.exited;

      expect(code, worker.output()).toBe(0);
      const counts = await queue.getJobCounts('active', 'completed', 'failed', 'waiting');
      expect(counts.active).toBe(0);
      expect(counts.failed).toBe(0);
      // Exactly the in-flight jobs completed; the rest wait for the next worker.
      expect(counts.completed).toBe(8);
      expect(counts.waiting).toBe(jobs - 8);
      expect(await count(`select count(*) as n from processed_commands where command_type = 'PlaceOrder'`)).toBe(8);
      expect(await count('select count(*) as n from orders')).toBe(8);
      expect(await count('select stock as n from products where id = $1', [productId])).toBe(10_000 - 8);
    } finally {
      blocker.release();
      worker.child.kill('SIGKILL');
      await queue.close();
    }
  });
});
